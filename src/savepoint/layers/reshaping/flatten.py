"""``Flatten``: flatten all but the batch dimension, in channels-last order as Keras does."""

from __future__ import annotations

import math

from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Flatten(Layer):
    """Flatten all but the batch dimension (channels-last order, as Keras).

    Example:
        >>> import torch
        >>> Flatten()(torch.ones(2, 3, 4)).shape
        torch.Size([2, 12])
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        known = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], known)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


__all__ = ["Flatten"]
