"""Weight regularizers (L1, L2, L1L2) with Keras names and configs."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.serialization import builtin, deserialize, serialize


class Regularizer:
    """Base class: ``reg(weight)`` returns a scalar penalty added to the loss."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)


@builtin("regularizers", "l1_l2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``.

    Example:
        >>> float(L1L2(l1=0.0, l2=0.5)(torch.tensor([2.0])))
        2.0
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = x.new_zeros(())
        if self.l1:
            total = total + self.l1 * x.abs().sum()
        if self.l2:
            total = total + self.l2 * x.square().sum()
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@builtin("regularizers", "l1")
class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


@builtin("regularizers", "l2")
class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def get(identifier: Any) -> Regularizer | None:
    """Resolve ``None``, a name (``"l2"``), a config or an instance."""
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier, "regularizers")
    raise ConfigError(f"Expected a regularizer name, config or instance. Received: {identifier!r}.")


__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize"]
