"""``LeakyReLU``: ``x`` if positive else ``alpha * x`` (Keras 2 names the slope ``alpha``,
Keras 3 ``negative_slope``; both are accepted and each dialect writes its own)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.layers.activation.relu import check_non_negative
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class LeakyReLU(Layer):
    """Leaky rectifier with slope ``alpha`` (default 0.3) below zero.

    Example:
        >>> LeakyReLU(alpha=0.5)(torch.tensor([[-2.0, 3.0]])).tolist()
        [[-1.0, 3.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, alpha: float = 0.3, **kwargs: Any):
        if "negative_slope" in kwargs:  # the Keras 3 spelling
            alpha = kwargs.pop("negative_slope")
        super().__init__(**kwargs)
        self.alpha = check_non_negative("LeakyReLU", "alpha", alpha)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(inputs, self.alpha)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        """Keras 3 calls the slope ``negative_slope``."""
        config = dict(config)
        config["negative_slope"] = config.pop("alpha", 0.3)
        return config

    @staticmethod
    def keras3_config_in(config: dict) -> dict:
        config = dict(config)
        if "negative_slope" in config:
            config["alpha"] = config.pop("negative_slope")
        return config
