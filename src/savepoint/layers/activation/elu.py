"""``ELU``: ``x`` if positive else ``alpha * (exp(x) - 1)``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class ELU(Layer):
    """Exponential linear unit with scale ``alpha`` (default 1.0) below zero.

    Example:
        >>> ELU()(torch.tensor([[0.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if alpha is None or isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ConfigError(f"ELU expected `alpha` to be a number. Received: alpha={alpha!r}. "
                              f"Fix: pass e.g. alpha=1.0.")
        self.alpha = float(alpha)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}
