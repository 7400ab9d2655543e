"""``SeparableConv1D``/``SeparableConv2D``: a depthwise convolution then a 1x1 pointwise one.

Weights in Keras's order: ``depthwise_kernel (k..., in, depth_multiplier)``,
``pointwise_kernel (1..., in * depth_multiplier, filters)``, ``bias (filters,)``.
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers import constraints, initializers, regularizers
from savepoint.layers.convolutional.base_conv import (CONV_FN, BaseConv, kernel_to_torch,
                                                      positive_int, require_one_group)
from savepoint.layers.convolutional.depthwise_conv import depthwise_conv
from savepoint.serialization import builtin, serialize


class SeparableConv(BaseConv):
    """N-d depthwise-separable convolution (base of SeparableConv1D/2D).

    Example:
        >>> SeparableConv2D(8, 3)(torch.zeros(1, 6, 6, 4)).shape
        torch.Size([1, 4, 4, 8])
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None,
                 kernel_initializer: Any = "glorot_uniform", kernel_regularizer: Any = None,
                 kernel_constraint: Any = None, groups: int = 1, **kwargs: Any):
        require_one_group(type(self).__name__, groups)
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        kind = type(self).__name__
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", kind)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        # tf.keras keeps these in the config though nothing uses them; kept for identical configs
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _build_kernels(self, channels: int) -> None:
        depthwise = self.kernel_size + (channels, self.depth_multiplier)
        pointwise = (1,) * self.rank + (channels * self.depth_multiplier, self.filters)
        self.depthwise_kernel = self.add_weight("depthwise_kernel", depthwise,
                                                self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer,
                                                constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight("pointwise_kernel", pointwise,
                                                self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        x = depthwise_conv(self, x, self.depthwise_kernel, None)
        return CONV_FN[self.rank](x, kernel_to_torch(self.pointwise_kernel, self.rank),
                                  self.bias if self.use_bias else None)

    def get_config(self) -> dict:
        return {**self._base_config(), "filters": self.filters,
                "kernel_initializer": serialize(self.kernel_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                **self._bias_config(), **self._constraint_config("kernel", "bias"),
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": serialize(self.depthwise_initializer),
                "pointwise_initializer": serialize(self.pointwise_initializer),
                "depthwise_regularizer": serialize(self.depthwise_regularizer),
                "pointwise_regularizer": serialize(self.pointwise_regularizer),
                **self._constraint_config("depthwise", "pointwise")}

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        """Keras 3's separable convolutions take no ``groups`` and no unused kernel_* keys."""
        unused = ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint")
        return {k: v for k, v in config.items() if k not in unused}


@builtin("layers", "SeparableConvolution1D")
class SeparableConv1D(SeparableConv):
    """1-D separable convolution over ``(batch, steps, channels)`` (``'causal'`` allowed).

    Example:
        >>> SeparableConv1D(4, 3)(torch.zeros(1, 6, 2)).shape
        torch.Size([1, 4, 4])
    """

    rank = 1
    _paddings = ("valid", "same", "causal")


@builtin("layers", "SeparableConvolution2D")
class SeparableConv2D(SeparableConv):
    """2-D separable convolution.

    Example:
        >>> SeparableConv2D(4, 3, padding="same")(torch.zeros(1, 6, 6, 2)).shape
        torch.Size([1, 6, 6, 4])
    """

    rank = 2


__all__ = ["SeparableConv", "SeparableConv1D", "SeparableConv2D"]
