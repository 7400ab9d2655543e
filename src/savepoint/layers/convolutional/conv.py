"""``Conv1D``/``Conv2D``/``Conv3D``: convolution with Keras's kernel ``(k..., in/groups, out)``.

TensorFlow's ``'same'`` padding (asymmetric for even kernels and strides) and ``Conv1D``'s
``'causal'`` padding are exact: the symmetric part goes to torch's kernel, the rest to one pad.
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers import constraints, initializers, regularizers
from savepoint.layers.convolutional.base_conv import (CONV_FN, BaseConv, kernel_to_torch,
                                                       runs_faster_nchw)
from savepoint.layers.convolutional.conv_utils import explicit_padding, split_padding
from savepoint.serialization import builtin, serialize


class Conv(BaseConv):
    """N-d convolution ``activation(conv(inputs, kernel) + bias)`` (base of Conv1D/2D/3D).

    Example:
        >>> Conv3D(2, 3)(torch.zeros(1, 5, 5, 5, 1)).shape
        torch.Size([1, 3, 3, 3, 2])
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _build_kernels(self, channels: int) -> None:
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self._is_pointwise():
            return super().call(inputs)
        self._check_input(inputs)
        return self.activation(pointwise_conv(inputs, self.kernel,
                                              self.bias if self.use_bias else None,
                                              self.strides))

    def _is_pointwise(self) -> bool:
        """A channels-last 1x1 convolution is a matmul over the channel axis, for every padding
        (TF's ``same`` and ``causal`` pad nothing for a 1-wide kernel); oneDNN's channels-last
        kernel ran it up to 4x slower than ``linear`` (ResNet50's 2x2x2048 blocks)."""
        return (self.data_format == "channels_last" and self.groups == 1
                and all(k == 1 for k in self.kernel_size))

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        pads = explicit_padding(x.shape[2:], self.kernel_size, self.strides, self.padding,
                                self.dilation_rate)
        x, sym = split_padding(x, pads)
        nchw = self.data_format == "channels_first" or runs_faster_nchw(x, self.groups)
        out = CONV_FN[self.rank](x.contiguous() if nchw else x,
                                 kernel_to_torch(self.kernel, self.rank, channels_last=not nchw),
                                 self.bias if self.use_bias else None, self.strides, sym,
                                 self.dilation_rate, self.groups)
        if nchw and self.data_format == "channels_last":
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def get_config(self) -> dict:
        return {**self._base_config(), "filters": self.filters,
                "kernel_initializer": serialize(self.kernel_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                **self._bias_config(), **self._constraint_config("kernel", "bias")}


def pointwise_conv(inputs: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None,
                   strides: tuple) -> torch.Tensor:
    """A 1x1 convolution of a channels-last ``inputs`` with a Keras ``(1..., in, out)`` kernel.

    Example:
        >>> pointwise_conv(torch.ones(1, 4, 4, 2), torch.ones(1, 1, 2, 3), None, (2, 2)).shape
        torch.Size([1, 2, 2, 3])
    """
    if any(s != 1 for s in strides):
        inputs = inputs[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    matrix = kernel.reshape(kernel.shape[-2], kernel.shape[-1])
    return torch.nn.functional.linear(inputs, matrix.t(), bias)


@builtin("layers", "Convolution1D")
class Conv1D(Conv):
    """1-D convolution over ``(batch, steps, channels)``; ``padding='causal'`` pads on the left.

    Example:
        >>> Conv1D(4, 3, padding="causal")(torch.zeros(2, 10, 2)).shape
        torch.Size([2, 10, 4])
    """

    rank = 1
    _paddings = ("valid", "same", "causal")


@builtin("layers", "conv2d", "Convolution2D")
class Conv2D(Conv):
    """2-D convolution, kernel ``(kh, kw, in/groups, out)``.

    Example:
        >>> Conv2D(32, 3)(torch.zeros(1, 28, 28, 1)).shape
        torch.Size([1, 26, 26, 32])
    """

    rank = 2


@builtin("layers", "Convolution3D")
class Conv3D(Conv):
    """3-D convolution, kernel ``(kd, kh, kw, in/groups, out)``.

    Example:
        >>> Conv3D(2, 2, padding="same")(torch.zeros(1, 4, 4, 4, 3)).shape
        torch.Size([1, 4, 4, 4, 2])
    """

    rank = 3


__all__ = ["Conv", "Conv1D", "Conv2D", "Conv3D"]
