"""Global configuration a user may set: the device new models use."""

from savepoint.backend import floatx, get_device, set_device

__all__ = ["floatx", "get_device", "set_device"]
