"""``keras.constraints``: weight constraints (MaxNorm, NonNeg, UnitNorm, MinMaxNorm) that the
optimizer applies to a weight after every update, as tf.keras does.

A layer receives one as ``kernel_constraint=`` (an instance, a name such as ``"max_norm"`` or
a config); ``Layer.add_weight(constraint=...)`` records it and ``Optimizer.apply`` projects the
updated weight through it in place.

Example:
    >>> import torch
    >>> MaxNorm(1.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()
    [0.6000000238418579, 0.800000011920929]
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.serialization import builtin, deserialize as _deserialize, serialize

_EPSILON = 1e-7  # Keras 2's backend.epsilon() in the norm denominators


def _norms(w: torch.Tensor, axis: Any) -> torch.Tensor:
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=axis, keepdim=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight.

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w): return w.clamp(-1, 1)
        >>> Clip()(torch.tensor([2.0])).tolist()
        [1.0]
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)


@builtin("constraints", "max_norm", "maxnorm")
class MaxNorm(Constraint):
    """Rescale weights whose norm along ``axis`` exceeds ``max_value``
    (``w * clip(n, 0, max_value) / (eps + n)``).

    Example:
        >>> MaxNorm(2.0).get_config()
        {'max_value': 2.0, 'axis': 0}
    """

    def __init__(self, max_value: float = 2, axis: Any = 0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


@builtin("constraints", "non_neg", "nonneg")
class NonNeg(Constraint):
    """Zero the negative weights.

    Example:
        >>> NonNeg()(torch.tensor([-1.0, 2.0])).tolist()
        [-0.0, 2.0]
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w * (w >= 0).to(w.dtype)


@builtin("constraints", "unit_norm", "unitnorm")
class UnitNorm(Constraint):
    """Scale weights to unit norm along ``axis`` (``w / (eps + n)``).

    Example:
        >>> UnitNorm(axis=1)(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis: Any = 0):
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


@builtin("constraints", "min_max_norm")
class MinMaxNorm(Constraint):
    """Move the norm along ``axis`` into ``[min_value, max_value]`` at ``rate``:
    ``desired = rate * clip(n, min, max) + (1 - rate) * n``; ``w * desired / (eps + n)``.

    Example:
        >>> MinMaxNorm(1.0, 2.0).get_config()["rate"]
        1.0
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Any = 0):
        if min_value > max_value:
            raise ConfigError(f"MinMaxNorm expected min_value <= max_value. Received: "
                              f"min_value={min_value}, max_value={max_value}.")
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras 2's lower-case aliases of the classes themselves
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


def get(identifier: Any) -> Constraint | None:
    """Resolve ``None``, a name (``"max_norm"``), a config dict, a Constraint or a callable.

    Example:
        >>> type(get("non_neg")).__name__
        'NonNeg'
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        if isinstance(identifier, str):
            identifier = {"class_name": identifier, "config": {}}
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret constraint identifier. Expected None, a name such "
                      f"as 'max_norm', a config dict or a callable. Received: {identifier!r}.")


def deserialize(config: Any, custom_objects: dict | None = None) -> Constraint:
    """A Keras-shaped config -> a Constraint.

    Example:
        >>> deserialize({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value
        3
    """
    return _deserialize(config, "constraints", custom_objects)


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "get", "serialize", "deserialize"]
