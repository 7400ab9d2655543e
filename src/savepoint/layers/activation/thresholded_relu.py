"""``ThresholdedReLU``: ``x`` where ``x > theta``, else 0 (a Keras 2 layer; Keras 3 dropped it)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class ThresholdedReLU(Layer):
    """Keep values above ``theta`` (default 1.0), zero the rest.

    Example:
        >>> ThresholdedReLU(theta=1.0)(torch.tensor([[0.5, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, theta: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if theta is None or isinstance(theta, bool) or not isinstance(theta, (int, float)) \
                or theta < 0:
            raise ConfigError(f"ThresholdedReLU expected `theta` to be a non-negative number. "
                              f"Received: theta={theta!r}. Fix: pass a value >= 0.")
        self.theta = float(theta)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        # Keras multiplies by the mask, so the gradient is the mask too.
        return inputs * (inputs > self.theta).to(inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "theta": self.theta}
