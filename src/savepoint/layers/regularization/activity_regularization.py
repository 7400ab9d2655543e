"""``ActivityRegularization``: the identity that adds ``l1 * sum|x| + l2 * sum x^2`` (divided by
the batch size, as tf.keras 2 does for activity regularizers) to the training loss."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class ActivityRegularization(Layer):
    """Pass inputs through; penalize their size through ``add_loss``.

    Example:
        >>> layer = ActivityRegularization(l1=0.5)
        >>> _ = layer(torch.ones(2, 3)); [float(v) for v in layer.losses]
        [1.5]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"ActivityRegularization expected `{name}` to be a "
                                  f"non-negative number. Received: {name}={value!r}.")
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.l1 or self.l2:
            loss = inputs.new_zeros(())
            if self.l1:
                loss = loss + self.l1 * inputs.abs().sum()
            if self.l2:
                loss = loss + self.l2 * inputs.square().sum()
            self.add_loss(loss / inputs.shape[0])
        return inputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
