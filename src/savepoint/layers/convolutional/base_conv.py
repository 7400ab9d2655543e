"""``BaseConv``: arguments, weights, shapes and configs shared by every convolution layer.

Subclasses set ``rank`` and implement ``_kernel_shape``/``_convolve``; the base does the
channels-last <-> channels-first views (no copies: a channels-last 4-D/5-D input viewed
channels-first has torch's channels_last memory format), bias, activation and configs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations, constraints, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import (check_rank, from_channels_first,
                                                       normalize_data_format, normalize_padding,
                                                       normalize_tuple, output_length,
                                                       spatial_dims, to_channels_first,
                                                       with_spatial)
from savepoint.serialization import serialize



def _first(value: Any) -> int:
    return value if isinstance(value, int) else value[0]


def conv1d_via_2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                  groups: int = 1) -> torch.Tensor:
    """``F.conv1d`` computed by the 2-D kernel on a height-1 view, as TensorFlow does: a
    channels-last ``(N, C, L)`` view becomes a ``channels_last`` 4-D tensor, which oneDNN runs
    ~1.5x faster than ``conv1d`` on the same view (measured on this project's CPUs).

    Example:
        >>> x, w = torch.randn(2, 3, 10), torch.randn(4, 3, 3)
        >>> torch.allclose(conv1d_via_2d(x, w), F.conv1d(x, w), atol=1e-5)
        True
    """
    out = F.conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _first(stride)),
                   (0, _first(padding)), (1, _first(dilation)), groups)
    return out.squeeze(2)


CONV_FN = {1: conv1d_via_2d, 2: F.conv2d, 3: F.conv3d}


def positive_int(value: Any, arg: str, layer: str) -> int:
    """``value`` if it is a positive int, else a ``ConfigError``.

    Example:
        >>> positive_int(4, "filters", "Conv2D")
        4
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{layer} expected `{arg}` to be a positive int. Received: "
                          f"{arg}={value!r}.")
    return value


def require_one_group(layer: str, groups: Any) -> None:
    """tf.keras keeps ``groups`` in these layers' configs but never uses it: only 1 is exact.

    Example:
        >>> require_one_group("DepthwiseConv2D", 1)
    """
    if groups != 1:
        raise ConfigError(f"{layer} expected `groups` to be 1 (tf.keras does not apply groups "
                          f"to this layer). Received: groups={groups!r}. Fix: remove it.")


class BaseConv(Layer):
    """Shared base of Conv/ConvTranspose/DepthwiseConv/SeparableConv in 1, 2 and 3 dimensions.

    Example:
        >>> from savepoint.layers import Conv1D
        >>> Conv1D(4, 3)(torch.zeros(2, 10, 2)).shape
        torch.Size([2, 8, 4])
    """

    rank = 2
    _paddings: tuple[str, ...] = ("valid", "same")

    def __init__(self, filters: int | None, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None, dilation_rate: Any = 1,
                 groups: int = 1, activation: Any = None, use_bias: bool = True,
                 bias_initializer: Any = "zeros", bias_regularizer: Any = None,
                 bias_constraint: Any = None, activity_regularizer: Any = None, **kwargs: Any):
        kind = type(self).__name__
        super().__init__(**kwargs)
        if filters is not None:
            positive_int(filters, "filters", kind)
        positive_int(groups, "groups", kind)
        self.filters, self.groups, self.use_bias = filters, groups, bool(use_bias)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", kind)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", kind)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{kind} does not support strides > 1 together with "
                              f"dilation_rate > 1. Received: strides={self.strides}, "
                              f"dilation_rate={self.dilation_rate}. Set one of them to 1.")
        if filters is not None and filters % groups:
            raise ConfigError(f"{kind} expected `filters` to be divisible by `groups`. "
                              f"Received: filters={filters}, groups={groups}.")
        self.padding = normalize_padding(padding, kind, self._paddings)
        self.data_format = normalize_data_format(data_format, kind)
        if self.padding == "causal" and self.data_format == "channels_first":
            raise ConfigError(f"{kind} supports padding='causal' only with "
                              f"data_format='channels_last'. Received: "
                              f"data_format='channels_first'.")
        self.activation = activations.get(activation)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # ----- shapes ---------------------------------------------------------------------------
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape: tuple) -> int:
        check_rank(self, input_shape, self.rank + 2)
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ShapeError(f"Layer '{self.name}' expected the channel dimension of its input "
                             f"to be known. Received input_shape={tuple(input_shape)}.")
        if channels % self.groups:
            raise ShapeError(
                f"Layer '{self.name}': the number of input channels must be evenly divisible by "
                f"the number of groups. Received groups={self.groups}, but the input has "
                f"{channels} channels (full input shape is {tuple(input_shape)}).")
        return int(channels)

    def _check_input(self, inputs: torch.Tensor) -> None:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        if inputs.shape[self._channel_axis()] != self._in_channels:
            raise ShapeError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis "
                f"{self._channel_axis()} of input shape to have value {self._in_channels}, but "
                f"received input with shape {tuple(inputs.shape)}.")

    def _output_channels(self) -> int:
        return self.filters

    def _output_spatial(self, spatial: tuple) -> tuple:
        return tuple(output_length(s, k, st, self.padding, d) for s, k, st, d in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        spatial = self._output_spatial(spatial_dims(input_shape, self.data_format))
        return with_spatial(input_shape, spatial, self._output_channels(), self.data_format)

    # ----- weights and call -----------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        self._in_channels = self._input_channels(input_shape)
        self._build_kernels(self._in_channels)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self._output_channels(),),
                                        self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _build_kernels(self, channels: int) -> None:
        raise NotImplementedError

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_input(inputs)
        out = self._convolve(to_channels_first(inputs, self.data_format))
        # activity_regularizer: Layer adds regularizer(output) / batch size after call()
        return self.activation(from_channels_first(out, self.data_format))

    # ----- config ---------------------------------------------------------------------------
    def _base_config(self) -> dict:
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "groups": self.groups, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias}

    def _bias_config(self) -> dict:
        return {"bias_initializer": serialize(self.bias_initializer),
                "bias_regularizer": serialize(self.bias_regularizer),
                "activity_regularizer": serialize(self.activity_regularizer)}

    def _constraint_config(self, *names: str) -> dict:
        return {f"{name}_constraint": serialize(getattr(self, f"{name}_constraint"))
                for name in names}


# Inference copies of kernels in torch layout, keyed weakly by the Keras kernel tensor itself
# (a dropped layer frees its entry); see ``kernel_to_torch``.
_TORCH_KERNELS: WeakIdKeyDictionary = WeakIdKeyDictionary()
_TORCH_KERNELS_NCHW: WeakIdKeyDictionary = WeakIdKeyDictionary()


def runs_faster_nchw(x: torch.Tensor, groups: int) -> bool:
    """Whether a 2-D convolution of the channels-first view ``x`` should run on a contiguous
    NCHW copy: oneDNN's CPU channels-last kernel is slow on tiny, deep images (a 3x3 conv of
    32x2x2x512 took 16 ms channels-last vs 6 ms NCHW with both copies, ResNet50's last stage at
    64x64 inputs), while such a tensor costs next to nothing to copy.

    Example:
        >>> runs_faster_nchw(torch.zeros(1, 512, 2, 2), 1), runs_faster_nchw(torch.zeros(1, 64, 2, 2), 1)
        (True, False)
    """
    return (x.device.type == "cpu" and x.dim() == 4 and groups == 1 and x.shape[1] >= 256
            and x.shape[2] * x.shape[3] <= 16)


def kernel_to_torch(kernel: torch.Tensor, rank: int, channels_last: bool = True) -> torch.Tensor:
    """Keras ``(k..., in, out)`` -> torch ``(out, in, k...)`` (contiguous NCHW order when not
    ``channels_last``).

    While autograd records for ``kernel`` this is a permuted view, so gradients reach the
    Keras-layout weight. Otherwise (predict, ``no_grad``, a frozen kernel) it is a cached copy,
    contiguous in channels-last order (``in`` innermost, as the channels-last inputs): a view
    made torch repack the weight on every call (a quarter of ResNet50's predict time). The
    cache key is the tensor's identity, its storage pointer (``.data =`` swaps it), its
    ``_version`` (bumped by every in-place write: optimizer steps, ``assign``,
    ``set_weights``/``load_weights``' ``copy_``), dtype, device and shape.

    Example:
        >>> kernel_to_torch(torch.zeros(3, 3, 2, 8), 2).shape
        torch.Size([8, 2, 3, 3])
    """
    if (torch.is_grad_enabled() and kernel.requires_grad) or kernel.is_inference():
        # an inference tensor has no version counter to key the cache on
        view = kernel.permute(rank + 1, rank, *range(rank))
        return view if channels_last else view.contiguous()
    key = (kernel._version, kernel.data_ptr(), kernel.dtype, kernel.device, kernel.shape)
    cache = _TORCH_KERNELS if channels_last else _TORCH_KERNELS_NCHW
    cached = cache.get(kernel)
    if cached is not None and cached[0] == key:
        return cached[1]
    # a plain tensor even under inference_mode: an inference tensor could not be saved for
    # the backward of a conv whose input requires grad
    with torch.inference_mode(False), torch.no_grad():
        if channels_last:
            weight = kernel.permute(rank + 1, *range(rank), rank).contiguous()
            weight = weight.permute(0, rank + 1, *range(1, rank + 1))
        else:
            weight = kernel.permute(rank + 1, rank, *range(rank)).contiguous()
    cache[kernel] = (key, weight)
    return weight


__all__ = ["BaseConv", "CONV_FN", "conv1d_via_2d", "kernel_to_torch", "positive_int",
           "require_one_group", "runs_faster_nchw"]
