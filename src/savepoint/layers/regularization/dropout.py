"""``Dropout``: zero a fraction of the inputs in training, scaling the rest up (identity at
inference)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Dropout(Layer):
    """Zero a fraction ``rate`` of inputs during training, scaling the rest by ``1/(1-rate)``.

    Example:
        >>> Dropout(0.5)(torch.ones(2, 2)).tolist()   # inference: identity
        [[1.0, 1.0], [1.0, 1.0]]
    """

    supports_masking = True  # Keras passes the input mask on

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) < 1:
            raise ConfigError(f"Dropout expected `rate` in [0, 1). Received: {rate!r}.")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None:
            return torch.nn.functional.dropout(inputs, self.rate, training=True)
        shape = [inputs.shape[i] if d is None else int(d) for i, d in enumerate(self.noise_shape)]
        keep = torch.empty(shape, dtype=inputs.dtype, device=inputs.device)
        keep.bernoulli_(1 - self.rate)
        return inputs * keep / (1 - self.rate)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


__all__ = ["Dropout"]
