"""Lowerings of the spatial, normalization and embedding layers: Conv2D, DepthwiseConv2D,
Max/AveragePooling2D, global pooling, ZeroPadding1D/2D (Pad), BatchNormalization (FusedBatchNormV3 in inference for rank
4, folded multiply-add otherwise), LayerNormalization and Embedding (GatherV2).

Channels-last (``spatial_more`` wraps channels-first layers in Transposes); ``groups > 1``
and other options TF's ops do not express are refused by name.

Example:
    >>> {"Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D"} <= set(LOWERINGS)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.layers import (LOWERINGS, T, _activation_name, _refuse,
                                               _variables, activate, lowers)
from savepoint.saving.formats.saved_model.schema import DT_INT32, DT_INT64
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)


def _channels_last(layer: Any) -> dict:
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise _refuse(layer, "data_format 'channels_last'")
    return config


def _padding(layer: Any, config: dict) -> str:
    padding = str(config.get("padding", "valid")).upper()
    if padding not in ("SAME", "VALID"):
        raise _refuse(layer, f"padding 'same' or 'valid' (received {config.get('padding')!r})")
    return padding


def _conv(b: FunctionBuilder, layer: Any, x: str, op: str, kernel_name: str) -> str:
    config = _channels_last(layer)
    if int(config.get("groups", 1)) != 1:
        raise _refuse(layer, "groups 1")
    v = _variables(layer)
    sh, sw = _pair(config.get("strides", 1))
    dh, dw = _pair(config.get("dilation_rate", 1))
    y = b.op(op, [x, b.variable(v[kernel_name])], T=T, strides=[1, sh, sw, 1],
             padding=_padding(layer, config), dilations=[1, dh, dw, 1], data_format="NHWC")
    if "bias" in v:
        y = b.op("BiasAdd", [y, b.variable(v["bias"])], T=T)
    return activate(b, _activation_name(layer), y, layer)


@lowers("Conv2D")
def _conv2d(b, layer, xs, shapes, outs):
    return [_conv(b, layer, xs[0], "Conv2D", "kernel")]


@lowers("DepthwiseConv2D")
def _depthwise(b, layer, xs, shapes, outs):
    return [_conv(b, layer, xs[0], "DepthwiseConv2dNative", "depthwise_kernel")]


@lowers("SeparableConv2D")
def _separable(b, layer, xs, shapes, outs):
    config = _channels_last(layer)
    v = _variables(layer)
    sh, sw = _pair(config.get("strides", 1))
    dh, dw = _pair(config.get("dilation_rate", 1))
    y = b.op("DepthwiseConv2dNative", [xs[0], b.variable(v["depthwise_kernel"])], T=T,
             strides=[1, sh, sw, 1], padding=_padding(layer, config), dilations=[1, dh, dw, 1],
             data_format="NHWC")
    y = b.op("Conv2D", [y, b.variable(v["pointwise_kernel"])], T=T, strides=[1, 1, 1, 1],
             padding="VALID", data_format="NHWC")
    if "bias" in v:
        y = b.op("BiasAdd", [y, b.variable(v["bias"])], T=T)
    return [activate(b, _activation_name(layer), y, layer)]


def _expand(b: FunctionBuilder, x: str, axis: int) -> str:
    return b.op("ExpandDims", [x, b.const(np.asarray(axis, np.int32))], T=T, Tdim=DT_INT32)


@lowers("Conv1D")
def _conv1d(b, layer, xs, shapes, outs):
    """As TF does it: [b, t, c] -> [b, 1, t, c], a Conv2D with a (1, k) kernel, squeezed back;
    causal padding is a left pad of dilation * (k - 1) steps, then VALID."""
    config = _channels_last(layer)
    if int(config.get("groups", 1)) != 1:
        raise _refuse(layer, "groups 1")
    v = _variables(layer)
    (k,), (s,), (d,) = (_pair(config[n])[:1] for n in ("kernel_size", "strides",
                                                      "dilation_rate"))
    x, padding = xs[0], str(config.get("padding", "valid")).upper()
    if padding == "CAUSAL":
        table = np.asarray([[0, 0], [d * (k - 1), 0], [0, 0]], np.int32)
        x, padding = b.op("Pad", [x, b.const(table)], T=T, Tpaddings=DT_INT32), "VALID"
    if padding not in ("SAME", "VALID"):
        raise _refuse(layer, "padding 'same', 'valid' or 'causal'")
    y = b.op("Conv2D", [_expand(b, x, 1), _expand(b, b.variable(v["kernel"]), 0)], T=T,
             strides=[1, 1, s, 1], padding=padding, dilations=[1, 1, d, 1], data_format="NHWC")
    y = b.op("Squeeze", [y], T=T, squeeze_dims=[1])
    if "bias" in v:
        y = b.op("BiasAdd", [y, b.variable(v["bias"])], T=T)
    return [activate(b, _activation_name(layer), y, layer)]


def _pool1d(op: str):
    def lower(b, layer, xs, shapes, outs):
        config = _channels_last(layer)
        (p,), (s,) = _pair(config["pool_size"])[:1], _pair(config.get("strides") or
                                                           config["pool_size"])[:1]
        y = b.op(op, [_expand(b, xs[0], 1)], T=T, ksize=[1, 1, p, 1], strides=[1, 1, s, 1],
                 padding=_padding(layer, config), data_format="NHWC")
        return [b.op("Squeeze", [y], T=T, squeeze_dims=[1])]
    return lower


LOWERINGS["MaxPooling1D"] = _pool1d("MaxPool")
LOWERINGS["AveragePooling1D"] = _pool1d("AvgPool")


def _pool(op: str):
    def lower(b, layer, xs, shapes, outs):
        config = _channels_last(layer)
        ph, pw = _pair(config["pool_size"])
        sh, sw = _pair(config.get("strides") or config["pool_size"])
        return [b.op(op, xs[:1], T=T, ksize=[1, ph, pw, 1], strides=[1, sh, sw, 1],
                     padding=_padding(layer, config), data_format="NHWC")]
    return lower


LOWERINGS["MaxPooling2D"] = _pool("MaxPool")
LOWERINGS["AveragePooling2D"] = _pool("AvgPool")


def _global(op: str):
    def lower(b, layer, xs, shapes, outs):
        config = _channels_last(layer)
        axes = list(range(1, len(shapes[0]) - 1))
        return [b.op(op, [xs[0], b.ints(axes)], T=T, Tidx=DT_INT32,
                     keep_dims=bool(config.get("keepdims", False)))]
    return lower


for _rank in ("1D", "2D", "3D"):
    LOWERINGS[f"GlobalAveragePooling{_rank}"] = _global("Mean")
    LOWERINGS[f"GlobalMaxPooling{_rank}"] = _global("Max")


@lowers("ZeroPadding1D", "ZeroPadding2D")
def _zero_padding(b, layer, xs, shapes, outs):
    padding = _channels_last(layer)["padding"]
    # the config is normalized: (before, after) for 1D, one such pair per axis for 2D
    pairs = [padding] if len(shapes[0]) == 3 else list(padding)
    table = [[0, 0]] + [[int(a), int(c)] for a, c in pairs] + [[0, 0]]
    return [b.op("Pad", [xs[0], b.const(np.asarray(table, np.int32))], T=T,
                 Tpaddings=DT_INT32)]


def _axes(layer: Any, rank: int) -> list[int]:
    axis = layer.get_config().get("axis", -1)
    axes = sorted(a % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    if axes != list(range(rank - len(axes), rank)):
        raise _refuse(layer, f"normalized axes at the end of the shape (received {axis})")
    return axes


def _param(b: FunctionBuilder, v: dict, name: str, fill: float, size: int) -> str:
    if name in v:
        return b.variable(v[name])
    return b.const(np.full((size,), fill, np.float32))


@lowers("BatchNormalization")
def _batch_norm(b, layer, xs, shapes, outs):
    rank = len(shapes[0])
    if _axes(layer, rank) != [rank - 1]:
        raise _refuse(layer, "axis -1 (channels last)")
    v, eps = _variables(layer), float(layer.get_config().get("epsilon", 1e-3))
    channels = int(shapes[0][-1])
    gamma, beta = _param(b, v, "gamma", 1.0, channels), _param(b, v, "beta", 0.0, channels)
    mean, var = b.variable(v["moving_mean"]), b.variable(v["moving_variance"])
    if rank == 4:
        return [b.op("FusedBatchNormV3", [xs[0], gamma, beta, mean, var], T=T, U=T,
                     epsilon=eps, is_training=False, data_format="NHWC")]
    # other ranks: x * s + (beta - mean * s), s = gamma / sqrt(var + eps)
    scale = b.op("Mul", [b.op("Rsqrt", [b.op("AddV2", [var, b.scalar(eps)], T=T)], T=T), gamma],
                 T=T)
    offset = b.op("Sub", [beta, b.op("Mul", [mean, scale], T=T)], T=T)
    return [b.op("AddV2", [b.op("Mul", [xs[0], scale], T=T), offset], T=T)]


@lowers("LayerNormalization")
def _layer_norm(b, layer, xs, shapes, outs):
    axes = _axes(layer, len(shapes[0]))
    v, eps = _variables(layer), float(layer.get_config().get("epsilon", 1e-3))
    reduce = b.ints(axes)
    mean = b.op("Mean", [xs[0], reduce], T=T, Tidx=DT_INT32, keep_dims=True)
    var = b.op("Mean", [b.op("SquaredDifference", [xs[0], mean], T=T), reduce], T=T,
               Tidx=DT_INT32, keep_dims=True)
    inv = b.op("Rsqrt", [b.op("AddV2", [var, b.scalar(eps)], T=T)], T=T)
    y = b.op("Mul", [b.op("Sub", [xs[0], mean], T=T), inv], T=T)
    if "gamma" in v:
        y = b.op("Mul", [y, b.variable(v["gamma"])], T=T)
    if "beta" in v:
        y = b.op("AddV2", [y, b.variable(v["beta"])], T=T)
    return [y]


@lowers("Embedding")
def _embedding(b, layer, xs, shapes, outs):
    if layer.get_config().get("mask_zero"):  # the mask changes what later layers compute
        raise _refuse(layer, "mask_zero False (masks are not lowered)")
    v = _variables(layer)
    indices, dtype = xs[0], tf_enum_for(b.node_dtypes[0])
    if dtype not in (DT_INT32, DT_INT64):  # as Keras: float ids are cast to int32
        indices, dtype = b.op("Cast", [indices], SrcT=dtype, DstT=DT_INT32), DT_INT32
    return [b.op("GatherV2", [b.variable(v["embeddings"]), indices,
                              b.const(np.asarray(0, np.int32))],
                 Tparams=T, Tindices=dtype, Taxis=DT_INT32)]
