"""Global configuration a user may set: the device new models use.

Example:
    >>> import savepoint
    >>> savepoint.config.set_device("cpu"); savepoint.config.get_device()
    device(type='cpu')
"""

from savepoint.backend import floatx, get_device, set_device

__all__ = ["floatx", "get_device", "set_device"]
