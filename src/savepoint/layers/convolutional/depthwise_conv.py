"""``DepthwiseConv1D``/``DepthwiseConv2D``: one filter stack per input channel.

Keras's ``depthwise_kernel (k..., in, depth_multiplier)`` becomes torch's grouped weight
``(in * depth_multiplier, 1, k...)``; output channel ``c * depth_multiplier + m`` is the same in
both, so no channel shuffle is needed.
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers import constraints, initializers, regularizers
from savepoint.layers.convolutional.base_conv import (CONV_FN, BaseConv, positive_int,
                                                      require_one_group)
from savepoint.layers.convolutional.conv_utils import explicit_padding, split_padding
from savepoint.serialization import builtin, serialize


def depthwise_to_torch(kernel: torch.Tensor, rank: int) -> torch.Tensor:
    """Keras ``(k..., in, dm)`` -> torch grouped ``(in * dm, 1, k...)``.

    Example:
        >>> depthwise_to_torch(torch.zeros(3, 3, 4, 2), 2).shape
        torch.Size([8, 1, 3, 3])
    """
    w = kernel.permute(rank, rank + 1, *range(rank))
    return w.reshape(w.shape[0] * w.shape[1], 1, *w.shape[2:])


def depthwise_conv(layer: BaseConv, x: torch.Tensor, kernel: torch.Tensor,
                   bias: torch.Tensor | None) -> torch.Tensor:
    """The depthwise convolution of channels-first ``x`` with ``layer``'s padding/strides.

    Example:
        >>> layer = DepthwiseConv2D(3)
        >>> layer.build((None, 5, 5, 2))
        >>> depthwise_conv(layer, torch.zeros(1, 2, 5, 5), layer.depthwise_kernel, None).shape
        torch.Size([1, 2, 3, 3])
    """
    pads = explicit_padding(x.shape[2:], layer.kernel_size, layer.strides, layer.padding,
                            layer.dilation_rate)
    x, sym = split_padding(x, pads)
    return CONV_FN[layer.rank](x, depthwise_to_torch(kernel, layer.rank), bias, layer.strides,
                               sym, layer.dilation_rate, x.shape[1])


class DepthwiseConv(BaseConv):
    """N-d depthwise convolution (base of DepthwiseConv1D/2D).

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(torch.zeros(1, 5, 5, 4)).shape
        torch.Size([1, 3, 3, 8])
    """

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, groups: int = 1,
                 **kwargs: Any):
        kind = type(self).__name__
        require_one_group(kind, groups)
        if "filters" in kwargs:
            raise ConfigError(f"{kind} expected no `filters` (it makes depth_multiplier outputs "
                              f"per input channel). Received: filters={kwargs['filters']!r}. "
                              f"Fix: set depth_multiplier, or use SeparableConv for filters.")
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", kind)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _output_channels(self) -> int:
        return self._in_channels * self.depth_multiplier

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._in_channels = self._input_channels(input_shape)
        return super().compute_output_shape(input_shape)

    def _build_kernels(self, channels: int) -> None:
        shape = self.kernel_size + (channels, self.depth_multiplier)
        self.depthwise_kernel = self.add_weight("depthwise_kernel", shape,
                                                self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer,
                                                constraint=self.depthwise_constraint)

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        return depthwise_conv(self, x, self.depthwise_kernel,
                              self.bias if self.use_bias else None)

    def get_config(self) -> dict:
        return {**self._base_config(), **self._bias_config(), **self._constraint_config("bias"),
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": serialize(self.depthwise_initializer),
                "depthwise_regularizer": serialize(self.depthwise_regularizer),
                **self._constraint_config("depthwise")}

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        """Keras 3's depthwise convolutions take no ``groups``."""
        return {k: v for k, v in config.items() if k != "groups"}


@builtin("layers")
class DepthwiseConv1D(DepthwiseConv):
    """1-D depthwise convolution over ``(batch, steps, channels)``.

    Example:
        >>> DepthwiseConv1D(3, padding="same")(torch.zeros(1, 6, 2)).shape
        torch.Size([1, 6, 2])
    """

    rank = 1


@builtin("layers")
class DepthwiseConv2D(DepthwiseConv):
    """2-D depthwise convolution, ``depthwise_kernel (kh, kw, in, depth_multiplier)``.

    Example:
        >>> DepthwiseConv2D(3, padding="same")(torch.zeros(1, 6, 6, 2)).shape
        torch.Size([1, 6, 6, 2])
    """

    rank = 2


__all__ = ["DepthwiseConv", "DepthwiseConv1D", "DepthwiseConv2D", "depthwise_conv",
           "depthwise_to_torch"]
