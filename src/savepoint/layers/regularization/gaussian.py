"""Gaussian noise layers: ``GaussianNoise`` (additive) and ``GaussianDropout`` (multiplicative,
mean 1), active in training only."""

from __future__ import annotations

import math
from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.regularization.common import check_rate, check_seed
from savepoint.serialization import builtin


@builtin("layers")
class GaussianNoise(Layer):
    """Add zero-mean noise of standard deviation ``stddev`` during training.

    Example:
        >>> GaussianNoise(0.1)(torch.zeros(2, 3), training=True).shape
        torch.Size([2, 3])
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ConfigError(f"GaussianNoise expected `stddev` to be a non-negative number. "
                              f"Received: stddev={stddev!r}. Fix: pass e.g. stddev=0.1.")
        self.stddev, self.seed = float(stddev), check_seed("GaussianNoise", seed)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.stddev == 0:
            return inputs
        return inputs + torch.randn_like(inputs) * self.stddev

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@builtin("layers")
class GaussianDropout(Layer):
    """Multiply by noise drawn from ``N(1, rate / (1 - rate))`` during training.

    Example:
        >>> GaussianDropout(0.2)(torch.ones(2, 3)).tolist()   # inference: identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate, self.seed = check_rate("GaussianDropout", rate), check_seed(
            "GaussianDropout", seed)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (1.0 + torch.randn_like(inputs) * stddev)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
