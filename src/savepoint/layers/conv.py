"""``Conv2D``: 2-D convolution with Keras's kernel layout ``(kh, kw, in, out)`` and TF padding.

Also holds the small helpers the pooling layers share: argument normalization and TensorFlow's
``'same'`` padding arithmetic (the extra padded row/column goes to the bottom/right).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.saving.serialization import builtin, serialize

_DATA_FORMATS = ("channels_last", "channels_first")
_LEGACY_CONFIG_KEYS = ("activity_regularizer", "kernel_constraint", "bias_constraint")


def normalize_tuple(value: Any, n: int, arg: str, layer: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` positive ints -> a tuple of ``n`` ints.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size", "Conv2D")
        (3, 3)
    """
    items = (value,) * n if isinstance(value, int) else value
    try:
        out = tuple(int(v) for v in items)
    except (TypeError, ValueError):
        out = ()
    if len(out) != n or any(v <= 0 for v in out) or any(isinstance(v, bool) for v in items):
        raise ConfigError(f"{layer} expected `{arg}` to be a positive int or a tuple of {n} "
                          f"positive ints. Received: {arg}={value!r}.")
    return out


def normalize_padding(value: Any, layer: str) -> str:
    """``'valid'`` or ``'same'`` (case-insensitive), else a ``ConfigError``."""
    padding = str(value).lower()
    if padding not in ("valid", "same"):
        raise ConfigError(f"{layer} expected `padding` to be 'valid' or 'same'. Received: "
                          f"padding={value!r}.")
    return padding


def normalize_data_format(value: Any, layer: str) -> str:
    """``None`` -> ``'channels_last'``; otherwise one of the two Keras data formats."""
    data_format = "channels_last" if value is None else str(value).lower()
    if data_format not in _DATA_FORMATS:
        raise ConfigError(f"{layer} expected `data_format` to be 'channels_last' or "
                          f"'channels_first'. Received: data_format={value!r}.")
    return data_format


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``'same'`` padding ``(before, after)`` of one spatial dimension.

    Example:
        >>> same_padding(5, 2, 1)   # the extra pad goes after (bottom/right)
        (0, 1)
    """
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def output_length(size: int | None, kernel: int, stride: int, padding: str,
                  dilation: int = 1) -> int | None:
    """Output length of one spatial dimension (``None`` stays ``None``).

    Example:
        >>> output_length(28, 3, 1, "valid")
        26
    """
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    effective = (kernel - 1) * dilation + 1
    return max(math.floor((size - effective) / stride) + 1, 0)


def pad_same_nchw(x: torch.Tensor, kernel: tuple, strides: tuple, dilation: tuple = (1, 1),
                  value: float = 0.0) -> torch.Tensor:
    """Pad an NCHW tensor as TensorFlow's ``'same'`` does (asymmetric, extra at bottom/right)."""
    top, bottom = same_padding(x.shape[2], kernel[0], strides[0], dilation[0])
    left, right = same_padding(x.shape[3], kernel[1], strides[1], dilation[1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def check_rank(layer: Layer, shape: tuple, rank: int) -> None:
    """Raise Keras's incompatibility error when an input is not of rank ``rank``."""
    if len(shape) != rank:
        raise ShapeError(
            f"Input 0 of layer \"{layer.name}\" is incompatible with the layer: expected "
            f"ndim={rank}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")


@builtin("layers", "conv2d", "Convolution2D")
class Conv2D(Layer):
    """2-D convolution: ``activation(conv(inputs, kernel) + bias)``, kernel ``(kh, kw, in, out)``.

    Example:
        >>> Conv2D(32, 3)(torch.zeros(1, 28, 28, 1)).shape
        torch.Size([1, 26, 26, 32])
    """

    def __init__(self, filters: int, kernel_size: int | tuple, strides: int | tuple = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: int | tuple = (1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        for arg, value in (("filters", filters), ("groups", groups)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"Conv2D expected `{arg}` to be a positive int. Received: "
                                  f"{arg}={value!r}.")
        self.filters, self.groups, self.use_bias = filters, groups, bool(use_bias)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", "Conv2D")
        self.strides = normalize_tuple(strides, 2, "strides", "Conv2D")
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", "Conv2D")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"Conv2D does not support strides > 1 together with "
                              f"dilation_rate > 1. Received: strides={self.strides}, "
                              f"dilation_rate={self.dilation_rate}. Set one of them to 1.")
        if filters % groups:
            raise ConfigError(f"Conv2D expected `filters` to be divisible by `groups`. Received: "
                              f"filters={filters}, groups={groups}.")
        self.padding = normalize_padding(padding, "Conv2D")
        self.data_format = normalize_data_format(data_format, "Conv2D")
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: tuple) -> None:
        check_rank(self, input_shape, 4)
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ShapeError(f"Layer '{self.name}' expected the channel dimension of its input "
                             f"to be known. Received input_shape={tuple(input_shape)}.")
        if channels % self.groups:
            raise ShapeError(
                f"Layer '{self.name}': the number of input channels must be evenly divisible by "
                f"the number of groups. Received groups={self.groups}, but the input has "
                f"{channels} channels (full input shape is {tuple(input_shape)}).")
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), 4)
        expected = self.kernel.shape[2] * self.groups
        if inputs.shape[self._channel_axis()] != expected:
            raise ShapeError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis "
                f"{self._channel_axis()} of input shape to have value {expected}, but received "
                f"input with shape {tuple(inputs.shape)}.")
        x = inputs.permute(0, 3, 1, 2) if self.data_format == "channels_last" else inputs
        if self.padding == "same":
            x = pad_same_nchw(x, self.kernel_size, self.strides, self.dilation_rate)
        weight = self.kernel.permute(3, 2, 0, 1)
        out = F.conv2d(x, weight, self.bias if self.use_bias else None, self.strides, 0,
                       self.dilation_rate, self.groups)
        if self.data_format == "channels_last":
            out = out.permute(0, 2, 3, 1)
        return self.activation(out)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, 4)
        spatial = input_shape[1:3] if self.data_format == "channels_last" else input_shape[2:4]
        rows, cols = (output_length(s, k, st, self.padding, d) for s, k, st, d in
                      zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (input_shape[0], rows, cols, self.filters)
        return (input_shape[0], self.filters, rows, cols)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer),
                "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}

    @classmethod
    def from_config(cls, config: dict) -> "Conv2D":
        return cls(**{k: v for k, v in config.items() if k not in _LEGACY_CONFIG_KEYS})


__all__ = ["Conv2D", "normalize_tuple", "normalize_padding", "normalize_data_format",
           "same_padding", "output_length", "pad_same_nchw", "check_rank"]
