"""``AlphaDropout``: dropout for SELU networks that keeps the inputs' mean and variance (dropped
units take SELU's negative saturation value, then an affine correction)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.base import Layer
from savepoint.layers.regularization.common import check_rate, check_seed
from savepoint.serialization import builtin

_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946


@builtin("layers")
class AlphaDropout(Layer):
    """Self-normalizing dropout (Klambauer et al., 2017), active in training only.

    Example:
        >>> AlphaDropout(0.2)(torch.ones(2, 3)).tolist()   # inference: identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.rate, self.seed = check_rate("AlphaDropout", rate), check_seed("AlphaDropout", seed)
        self.noise_shape = None if noise_shape is None else list(noise_shape)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else [
            inputs.shape[i] if d is None else int(d) for i, d in enumerate(self.noise_shape)]
        alpha_p = -_ALPHA * _SCALE
        kept = (torch.rand(shape, device=inputs.device) >= self.rate).to(inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1 - kept)) + b

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        # tf.keras 2 writes rate and seed only and drops noise_shape, which changes training:
        # written when set (tf.keras's and Keras 3's constructors take it back)
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        if self.noise_shape is not None:
            config["noise_shape"] = self.noise_shape
        return config
