"""Lowerings of the remaining spatial layers: Conv3D, the transposed convolutions,
DepthwiseConv1D, SeparableConv1D, 3-D pooling, cropping, ZeroPadding3D and upsampling, plus
``data_format='channels_first'`` for every spatial layer (here and in ``spatial``).

A transposed convolution is TF's ``Conv2DBackpropInput``/``Conv3DBackpropInputV2`` (the 1-D one
on a height-1 view, as ``tf.nn.conv1d_transpose``), whose ``input_sizes`` packs the batch read
from ``Shape(x)[0]`` with the static output dims, so the batch stays dynamic. Nearest upsampling
is a Reshape/Tile/Reshape repeat; bilinear is ``ResizeBilinear`` with ``half_pixel_centers``
(tf.keras 2's ``tf.image.resize``). TF's CPU kernels want channels last, so a channels-first
layer is lowered as Transpose -> the channels-last lowering -> Transpose back.

Example:
    >>> import savepoint as keras
    >>> from savepoint.exports.lowering import lower_model
    >>> m = keras.Sequential([keras.layers.Conv2DTranspose(2, 3, strides=2,
    ...                                                    input_shape=(4, 4, 1))])
    >>> [n.op for n in lower_model(m).function.nodes if "Backprop" in n.op]
    ['Conv2DBackpropInput']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.layers import (LOWERINGS, T, _activation_name, _refuse,
                                               _variables, activate, lowers)
from savepoint.exports.lowering.spatial import (_channels_last, _expand, _padding,
                                                _zero_padding)
from savepoint.saving.formats.saved_model.schema import DT_INT32


def _ints(value: Any, n: int) -> list[int]:
    """A config's int-or-tuple argument as ``n`` ints."""
    return [int(value)] * n if isinstance(value, int) else [int(v) for v in value]


def static(layer: Any, shape: tuple, what: str = "input") -> list[int]:
    """The non-batch dims of ``shape``, which must all be known."""
    if any(d is None for d in shape[1:]):
        raise _refuse(layer, f"a static {what} shape except the batch (received "
                             f"{tuple(shape)})")
    return [int(d) for d in shape[1:]]


def batch_size(b: FunctionBuilder, x: str) -> str:
    """``Shape(x)[0]``: the dynamic batch as an int32 scalar."""
    shape = b.op("Shape", [x], T=T, out_type=DT_INT32)
    return b.op("StridedSlice", [shape, b.ints([0]), b.ints([1]), b.ints([1])], T=DT_INT32,
                Index=DT_INT32, shrink_axis_mask=1)


def _bias_activation(b: FunctionBuilder, layer: Any, y: str) -> str:
    v = _variables(layer)
    if "bias" in v:
        y = b.op("BiasAdd", [y, b.variable(v["bias"])], T=T)
    return activate(b, _activation_name(layer), y, layer)


def _one_group(layer: Any) -> dict:
    config = _channels_last(layer)
    if int(config.get("groups", 1)) != 1:
        raise _refuse(layer, "groups 1")
    return config


# ----------------------------------------------------------------------------- convolutions
@lowers("Conv3D")
def _conv3d(b, layer, xs, shapes, outs):
    config = _one_group(layer)
    strides, dilations = _ints(config["strides"], 3), _ints(config["dilation_rate"], 3)
    y = b.op("Conv3D", [xs[0], b.variable(_variables(layer)["kernel"])], T=T,
             strides=[1, *strides, 1], padding=_padding(layer, config),
             dilations=[1, *dilations, 1], data_format="NDHWC")
    return [_bias_activation(b, layer, y)]


@lowers("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _conv_transpose(b, layer, xs, shapes, outs):
    """The input gradient of the convolution that maps the output back to ``x``: tf.keras's
    output size (output_padding included) is the static output shape."""
    config = _one_group(layer)
    rank = len(shapes[0]) - 2
    strides = _ints(config["strides"], rank)
    dilations = _ints(config.get("dilation_rate", 1), rank)  # Conv3DTranspose may omit it
    padding = _padding(layer, config)
    sizes = static(layer, outs[0], "output")
    x, kernel = xs[0], b.variable(_variables(layer)["kernel"])
    if rank == 1:  # a height-1 image, as tf.nn.conv1d_transpose does
        x, kernel = _expand(b, x, 1), _expand(b, kernel, 0)
        strides, dilations, sizes = [1, *strides], [1, *dilations], [1, *sizes]
    dims = [batch_size(b, xs[0])] + [b.const(np.asarray(n, np.int32)) for n in sizes]
    packed = b.op("Pack", dims, N=len(dims), T=DT_INT32)
    attrs = dict(T=T, strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1])
    if rank == 3:
        y = b.op("Conv3DBackpropInputV2", [packed, kernel, x], data_format="NDHWC",
                 Tshape=DT_INT32, **attrs)
    else:
        y = b.op("Conv2DBackpropInput", [packed, kernel, x], data_format="NHWC", **attrs)
    if rank == 1:
        y = b.op("Squeeze", [y], T=T, squeeze_dims=[1])
    return [_bias_activation(b, layer, y)]


def _causal(b: FunctionBuilder, layer: Any, x: str, config: dict, k: int, d: int
            ) -> tuple[str, str]:
    """``x`` left-padded by ``d * (k - 1)`` steps for ``'causal'`` (then VALID), and the
    padding string for the op."""
    if str(config.get("padding")).lower() == "causal":
        table = np.asarray([[0, 0], [d * (k - 1), 0], [0, 0]], np.int32)
        return b.op("Pad", [x, b.const(table)], T=T, Tpaddings=DT_INT32), "VALID"
    return x, _padding(layer, config)


@lowers("DepthwiseConv1D", "SeparableConv1D")
def _depthwise_1d(b, layer, xs, shapes, outs):
    """A depthwise Conv2D on the height-1 view (TF's way), then, for SeparableConv1D, the
    pointwise 1x1 Conv2D."""
    config = _one_group(layer)
    (k,), (s,), (d,) = (_ints(config[n], 1) for n in ("kernel_size", "strides",
                                                     "dilation_rate"))
    v = _variables(layer)
    x, padding = _causal(b, layer, xs[0], config, k, d)
    y = b.op("DepthwiseConv2dNative", [_expand(b, x, 1),
                                       _expand(b, b.variable(v["depthwise_kernel"]), 0)],
             T=T, strides=[1, 1, s, 1], padding=padding, dilations=[1, 1, d, 1],
             data_format="NHWC")
    if "pointwise_kernel" in v:
        y = b.op("Conv2D", [y, _expand(b, b.variable(v["pointwise_kernel"]), 0)], T=T,
                 strides=[1, 1, 1, 1], padding="VALID", data_format="NHWC")
    y = b.op("Squeeze", [y], T=T, squeeze_dims=[1])
    return [_bias_activation(b, layer, y)]


# ----------------------------------------------------------------------------- pooling
def _pool3d(op: str):
    def lower(b, layer, xs, shapes, outs):
        config = _channels_last(layer)
        pool = _ints(config["pool_size"], 3)
        strides = _ints(config.get("strides") or config["pool_size"], 3)
        return [b.op(op, xs[:1], T=T, ksize=[1, *pool, 1], strides=[1, *strides, 1],
                     padding=_padding(layer, config), data_format="NDHWC")]
    return lower


LOWERINGS["MaxPooling3D"] = _pool3d("MaxPool3D")
LOWERINGS["AveragePooling3D"] = _pool3d("AvgPool3D")


# ----------------------------------------------------------------------------- reshaping
@lowers("Cropping1D", "Cropping2D", "Cropping3D")
def _cropping(b, layer, xs, shapes, outs):
    """One StridedSlice; a zero crop after a dim is its end-mask bit (an end of -0 would be
    empty), so unknown spatial sizes work too."""
    cropping = _channels_last(layer)["cropping"]
    rank = len(shapes[0])
    pairs = [cropping] if rank == 3 else list(cropping)
    begin, end, end_mask = [0], [0], 1 | 1 << (rank - 1)
    for axis, (before, after) in enumerate(pairs, start=1):
        begin.append(int(before))
        end.append(-int(after))
        end_mask |= 0 if after else 1 << axis
    return [b.op("StridedSlice", [xs[0], b.ints(begin + [0]), b.ints(end + [0]),
                                  b.ints([1] * rank)], T=T, Index=DT_INT32,
                 begin_mask=1 | 1 << (rank - 1), end_mask=end_mask)]


LOWERINGS["ZeroPadding3D"] = _zero_padding  # its (before, after) pairs per axis, as 2-D


def repeat(b: FunctionBuilder, x: str, dims: list[int], sizes: list[int]) -> str:
    """Each cell of the spatial ``dims`` (channels last, static) repeated ``sizes`` times:
    a new axis after each, tiled, and merged back."""
    view, multiples, final = [-1], [1], [-1]
    for n, size in zip(dims, sizes):
        view += [n, 1]
        multiples += [1, size]
        final.append(n * size)
    view.append(dims[-1])
    multiples.append(1)
    final.append(dims[-1])
    y = b.op("Reshape", [x, b.ints(view)], T=T, Tshape=DT_INT32)
    y = b.op("Tile", [y, b.ints(multiples)], T=T, Tmultiples=DT_INT32)
    return b.op("Reshape", [y, b.ints(final)], T=T, Tshape=DT_INT32)


@lowers("UpSampling1D", "UpSampling2D", "UpSampling3D")
def _upsampling(b, layer, xs, shapes, outs):
    config = _channels_last(layer)
    rank = len(shapes[0]) - 2
    sizes = _ints(config["size"], rank)
    dims = static(layer, shapes[0])
    interpolation = config.get("interpolation", "nearest")
    if interpolation == "bilinear":
        size = b.ints([n * s for n, s in zip(dims, sizes)])
        return [b.op("ResizeBilinear", [xs[0], size], T=T, half_pixel_centers=True)]
    if interpolation != "nearest":
        raise _refuse(layer, f"interpolation 'nearest' or 'bilinear' (received "
                             f"{interpolation!r})")
    return [repeat(b, xs[0], dims, sizes)]


# ----------------------------------------------------------------------------- channels first
class _ChannelsLastView:
    """``layer`` as its channels-last twin: the same variables and config, data_format
    ``channels_last`` (kernels have the same layout in both formats)."""

    _classes: dict[str, type] = {}

    def __init__(self, layer: Any):
        self._layer = layer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layer, name)

    def get_config(self) -> dict:
        return {**self._layer.get_config(), "data_format": "channels_last"}

    @classmethod
    def of(cls, layer: Any) -> Any:
        name = type(layer).__name__  # refusals name the real class
        if name not in cls._classes:
            cls._classes[name] = type(name, (cls,), {})
        return cls._classes[name](layer)


def _first_to_last(shape: tuple) -> tuple:
    return (shape[0], *shape[2:], shape[1])


def channels_first(lowering):
    """``lowering`` (a channels-last one) for channels-first layers too: Transpose to channels
    last, lower, Transpose the output back when it keeps the input's rank (a global pooling
    without keepdims has no spatial axes left)."""
    def lower(b, layer, xs, shapes, outs):
        if layer.get_config().get("data_format", "channels_last") != "channels_first":
            return lowering(b, layer, xs, shapes, outs)
        rank = len(shapes[0])
        to_last = b.ints([0, *range(2, rank), 1])
        x = b.op("Transpose", [xs[0], to_last], T=T, Tperm=DT_INT32)
        keeps = len(outs[0]) == rank
        ys = lowering(b, _ChannelsLastView.of(layer), [x], [_first_to_last(shapes[0])],
                      [_first_to_last(outs[0]) if keeps else outs[0]])
        if not keeps:
            return ys
        to_first = b.ints([0, rank - 1, *range(1, rank - 1)])
        return [b.op("Transpose", [ys[0], to_first], T=T, Tperm=DT_INT32)]
    lower.__doc__ = lowering.__doc__
    return lower


CHANNELS_FIRST = [f"{kind}{rank}" for rank in ("1D", "2D", "3D") for kind in (
    "Conv", "MaxPooling", "AveragePooling", "GlobalAveragePooling", "GlobalMaxPooling",
    "Cropping", "ZeroPadding", "UpSampling")] + [
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "DepthwiseConv1D",
    "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]
for _name in CHANNELS_FIRST:
    LOWERINGS[_name] = channels_first(LOWERINGS[_name])


__all__ = ["CHANNELS_FIRST", "batch_size", "channels_first", "repeat", "static"]
