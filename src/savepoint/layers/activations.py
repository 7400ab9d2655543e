"""Activation functions by Keras name, and the lookup that turns a name into a function."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(x, dim=axis)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)  # tf.keras 2 (Keras 3 uses x / 6 + 0.5)


def exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    return F.leaky_relu(x, negative_slope)


_ACTIVATIONS: dict[str, Callable] = {
    "linear": linear, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "softmax": softmax, "log_softmax": log_softmax, "elu": F.elu, "selu": F.selu,
    "gelu": F.gelu, "softplus": F.softplus, "softsign": F.softsign, "swish": F.silu,
    "silu": F.silu, "relu6": F.relu6, "leaky_relu": leaky_relu, "mish": F.mish,
    "hard_sigmoid": hard_sigmoid, "exponential": exponential,
}
_NAMES = {id(fn): name for name, fn in _ACTIVATIONS.items() if name not in ("silu",)}


def get(identifier: str | Callable | None) -> Callable:
    """Resolve an activation name (``"relu"``) or callable; ``None`` means linear.

    Example:
        >>> get("relu")(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        identifier = identifier.get("config", {}).get("name", identifier.get("class_name"))
    fn = _ACTIVATIONS.get(str(identifier))
    if fn is None:
        raise ConfigError(
            f"Unknown activation '{identifier}'. Expected one of: {', '.join(sorted(_ACTIVATIONS))}.")
    return fn


def serialize(fn: Callable) -> str:
    """The Keras name of an activation function (``"relu"``)."""
    name = _NAMES.get(id(fn))
    if name is None:
        name = getattr(fn, "__name__", None)
        if name is None or name not in _ACTIVATIONS and not hasattr(fn, "_registered_name"):
            raise ConfigError(
                f"Cannot serialize activation {fn!r}. Expected a built-in activation or a "
                f"function registered with register_serializable().")
    return name
