"""TFLite translations of the layers' heavy ops: MatMul/BatchMatMulV2 (FULLY_CONNECTED, weights
transposed to [out, in]), BiasAdd, Conv2D/DepthwiseConv2dNative/Conv3D, transposed convs,
pooling, FusedBatchNormV3, resizing, and the activations a producer can absorb.

Patterns fold into the op that produced their input when that input has no other use, as
TFLite's converter does: a BiasAdd becomes the op's bias, a batch norm (or a constant
per-channel multiply-add) scales its weights and bias, and RELU/RELU6 become its
``fused_activation_function``.

Example:
    >>> import savepoint as keras
    >>> from savepoint.exports.litert.convert import convert
    >>> from savepoint.exports.lowering import lower_model
    >>> x = keras.Input((8, 8, 3))
    >>> y = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(x))
    >>> m = convert(lower_model(keras.Model(x, keras.layers.ReLU()(y))), quantize=None)
    >>> m.opcodes, m.ops[0].options["fused_activation_function"]
    (['CONV_2D'], 1)
"""

from __future__ import annotations

import math

import numpy as np

from savepoint.exports.litert.convert import Context, attr, per_batch, translates
from savepoint.exports.litert.graph import Value
from savepoint.exports.litert.schema import ACTIVATIONS, PADDINGS
from savepoint.exports.lowering.builder import LoweringError

# the ops whose float kernels apply a fused RELU/RELU6 (CONCATENATION's refuses any)
_FUSES_ACTIVATION = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "SUB", "MUL",
                     "DIV", "AVERAGE_POOL_2D", "MAX_POOL_2D"}
_AFFINE = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"}  # channel = weights' out axis


def _refuse(node, what: str) -> LoweringError:
    return LoweringError(f"Op {node.op} (node '{node.name}') cannot be translated to TFLite: "
                         f"expected {what}. Fix: change the layer's options, or export "
                         f"format='tf_saved_model' or 'onnx'.")


def _weights(node, v: Value, what: str = "constant weights") -> np.ndarray:
    if v.const is None:
        raise _refuse(node, what)
    return v.const.astype(np.float32)


# ----------------------------------------------------------------------------- dense
def _fully_connected(ctx: Context, x: Value, w_out_in: np.ndarray, keep: bool) -> Value:
    shapes = per_batch(lambda s: tuple(s[:-1]) + (w_out_in.shape[0],), x)
    return ctx.emit("FULLY_CONNECTED", [x, w_out_in, None], [shapes],
                    fused_activation_function=0, keep_num_dims=keep)[0]


def _batch_matmul(ctx: Context, a: Value, b: Value, adj_x: bool, adj_y: bool) -> Value:
    def shape(s, t):
        m = s[-1] if adj_x else s[-2]
        n = t[-2] if adj_y else t[-1]
        return tuple(np.broadcast_shapes(tuple(s[:-2]), tuple(t[:-2]))) + (m, n)
    return ctx.emit("BATCH_MATMUL", [a, b], [per_batch(shape, a, b)], adj_x=adj_x,
                    adj_y=adj_y)[0]


@translates("MatMul", "BatchMatMulV2")
def _matmul(ctx, node, ins):
    x, w = ins
    adj_x = bool(attr(node, "transpose_a", False) or attr(node, "adj_x", False))
    adj_y = bool(attr(node, "transpose_b", False) or attr(node, "adj_y", False))
    if w.const is not None and x.const is None and not adj_x and w.const.ndim == 2:
        kernel = w.const.astype(np.float32)
        return [_fully_connected(ctx, x, kernel if adj_y else np.ascontiguousarray(kernel.T),
                                 keep=len(x.shapes[0]) > 2)]
    return [_batch_matmul(ctx, x, w, adj_x, adj_y)]


@translates("BiasAdd")
def _bias_add(ctx, node, ins):
    x, bias = ins
    if bias.const is not None:
        folded = fold_affine(ctx, node.inputs[0], x, None, bias.const.astype(np.float32))
        if folded is not None:
            return [folded]
    return [ctx.binary("ADD", x, bias, fused_activation_function=0)]


def fold_affine(ctx: Context, edge: str, x: Value, scale: np.ndarray | None,
                offset: np.ndarray | None) -> Value | None:
    """``x * scale + offset`` (per last-axis channel) folded into the FC/conv that produced
    ``x``, when ``edge`` is its only use and nothing is fused into it yet; else None."""
    op = ctx.producer_if_only_use(edge, x)
    if op is None or op.op not in _AFFINE or op.options.get("fused_activation_function"):
        return None
    weights, bias = op.inputs[1], op.inputs[2]
    if not isinstance(weights, np.ndarray):
        return None
    channels = weights.shape[-1] if op.op == "DEPTHWISE_CONV_2D" else weights.shape[0]
    for c in (scale, offset):
        if c is not None and c.size not in (1, channels) or c is not None and c.ndim > 1:
            return None
    bias = np.zeros(channels, np.float32) if bias is None else bias
    if scale is not None:
        s = np.broadcast_to(scale, (channels,)).astype(np.float32)
        axis_shape = [1] * weights.ndim
        axis_shape[-1 if op.op == "DEPTHWISE_CONV_2D" else 0] = channels
        weights, bias = weights * s.reshape(axis_shape), bias * s
    if offset is not None:
        bias = bias + np.broadcast_to(offset, (channels,)).astype(np.float32)
    op.inputs[1], op.inputs[2] = weights.astype(np.float32), bias.astype(np.float32)
    return x


# ----------------------------------------------------------------------------- convolutions
def _out_size(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // stride)
    return -(-(size - (k - 1) * dilation) // stride)


def _padding(node) -> int:
    padding = attr(node, "padding")
    padding = padding.decode() if isinstance(padding, bytes) else str(padding)
    if padding not in PADDINGS:
        raise _refuse(node, f"padding SAME or VALID (received {padding!r})")
    if (attr(node, "data_format", "NHWC") or "NHWC") not in ("NHWC", b"NHWC", "NDHWC",
                                                            b"NDHWC"):
        raise _refuse(node, "channels-last data")
    return PADDINGS[padding]


@translates("Conv2D", "DepthwiseConv2dNative")
def _conv2d(ctx, node, ins):
    x, f = ins
    kernel = _weights(node, f)  # [h, w, in, out] or [h, w, in, multiplier]
    _, sh, sw, _ = attr(node, "strides")
    _, dh, dw, _ = attr(node, "dilations", [1, 1, 1, 1])
    pad = _padding(node)
    kh, kw, cin, cout = kernel.shape
    depthwise = node.op == "DepthwiseConv2dNative"
    if not depthwise and cin != x.shapes[0][-1]:
        raise _refuse(node, f"one group (kernel in-channels {cin} == input channels "
                            f"{x.shapes[0][-1]})")
    channels = cin * cout if depthwise else cout

    def shape(s):
        name = "SAME" if pad == 0 else "VALID"
        return (s[0], _out_size(s[1], kh, sh, dh, name), _out_size(s[2], kw, sw, dw, name),
                channels)
    options = dict(padding=pad, stride_h=sh, stride_w=sw, dilation_h_factor=dh,
                   dilation_w_factor=dw, fused_activation_function=0)
    if depthwise:  # TFLite: [1, h, w, in * multiplier], channel c * multiplier + m as TF
        filt = kernel.reshape(1, kh, kw, channels)
        return ctx.emit("DEPTHWISE_CONV_2D", [x, filt, None], [per_batch(shape, x)],
                        depth_multiplier=cout, **options)
    filt = np.ascontiguousarray(kernel.transpose(3, 0, 1, 2))  # [out, h, w, in]
    return ctx.emit("CONV_2D", [x, filt, None], [per_batch(shape, x)], **options)


@translates("Conv3D")
def _conv3d(ctx, node, ins):
    x, f = ins
    kernel = _weights(node, f)  # [d, h, w, in, out]: TFLite's CONV_3D layout as well
    _, sd, sh, sw, _ = attr(node, "strides")
    _, dd, dh, dw, _ = attr(node, "dilations", [1] * 5)
    pad = _padding(node)
    name = "SAME" if pad == 0 else "VALID"
    k = kernel.shape

    def shape(s):
        return (s[0], _out_size(s[1], k[0], sd, dd, name), _out_size(s[2], k[1], sh, dh, name),
                _out_size(s[3], k[2], sw, dw, name), k[4])
    zeros = ctx.g.const_tensor(np.zeros(k[4], np.float32), "conv_3d_bias")
    return ctx.emit("CONV_3D", [x, ctx.g.const_tensor(kernel, "conv_3d_weights"), zeros],
                    [per_batch(shape, x)], padding=pad, stride_d=sd, stride_h=sh, stride_w=sw,
                    dilation_d_factor=dd, dilation_h_factor=dh, dilation_w_factor=dw,
                    fused_activation_function=0)


def _output_shape(node, sizes: Value) -> tuple:
    if sizes.const is not None:
        return (tuple(int(v) for v in sizes.const),) * 2
    if sizes.known is None:
        raise _refuse(node, "an output shape known from the input shape")
    return tuple(tuple(int(v) for v in k) for k in sizes.known)


@translates("Conv2DBackpropInput")
def _transpose_conv(ctx, node, ins):
    sizes, f, x = ins
    kernel = _weights(node, f)  # [h, w, out channels, in channels]
    _, sh, sw, _ = attr(node, "strides")
    _, dh, dw, _ = attr(node, "dilations", [1, 1, 1, 1])
    if (dh, dw) != (1, 1):  # TRANSPOSE_CONV has no dilation: the same taps, zeros between
        kh, kw = kernel.shape[:2]
        spread = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1) + kernel.shape[2:], np.float32)
        spread[::dh, ::dw] = kernel
        kernel = spread
    filt = np.ascontiguousarray(kernel.transpose(2, 0, 1, 3))  # [out, h, w, in]
    sizes_tensor = ctx.g.tensor_of(sizes, "output_shape")
    return ctx.emit("TRANSPOSE_CONV", [sizes_tensor, ctx.g.const_tensor(filt, "weights"), x],
                    [_output_shape(node, sizes)], padding=_padding(node), stride_h=sh,
                    stride_w=sw, fused_activation_function=0)


@translates("Conv3DBackpropInputV2")
def _transpose_conv3d(ctx, node, ins):
    sizes, f, x = ins
    kernel = _weights(node, f)  # [d, h, w, out channels, in channels], as TFLite's
    _, sd, sh, sw, _ = attr(node, "strides")
    _, dd, dh, dw, _ = attr(node, "dilations", [1] * 5)
    return ctx.emit("CONV_3D_TRANSPOSE", [ctx.g.tensor_of(sizes, "output_shape"),
                                          ctx.g.const_tensor(kernel, "weights"), x],
                    [_output_shape(node, sizes)], padding=_padding(node), stride_d=sd,
                    stride_h=sh, stride_w=sw, dilation_d_factor=dd, dilation_h_factor=dh,
                    dilation_w_factor=dw, fused_activation_function=0)


@translates("MaxPool", "AvgPool")
def _pool(ctx, node, ins):
    _, kh, kw, kc = attr(node, "ksize")
    _, sh, sw, sc = attr(node, "strides")
    if kc != 1 or sc != 1:
        raise _refuse(node, "pooling over height and width only")
    pad = _padding(node)
    name = "SAME" if pad == 0 else "VALID"

    def shape(s):
        return (s[0], _out_size(s[1], kh, sh, 1, name), _out_size(s[2], kw, sw, 1, name), s[3])
    op = "MAX_POOL_2D" if node.op == "MaxPool" else "AVERAGE_POOL_2D"
    return ctx.emit(op, ins[:1], [per_batch(shape, ins[0])], padding=pad, stride_h=sh,
                    stride_w=sw, filter_height=kh, filter_width=kw, fused_activation_function=0)


@translates("MaxPool3D", "AvgPool3D")
def _pool3d(ctx, node, ins):
    """TFLite has no builtin 3-D pooling; a box window is separable, for the max and for
    the mean alike (the padded positions SAME leaves out form a box too): pool height and
    width with depth folded into the batch, then depth with height * width as one axis."""
    x = ins[0]
    _, kd, kh, kw, kc = attr(node, "ksize")
    _, sd, sh, sw, sc = attr(node, "strides")
    if kc != 1 or sc != 1:
        raise _refuse(node, "pooling over depth, height and width only")
    pad = _padding(node)
    name = "SAME" if pad == 0 else "VALID"
    op = "MAX_POOL_2D" if node.op == "MaxPool3D" else "AVERAGE_POOL_2D"
    _, d, h, w, c = x.shapes[0]
    h2, w2 = _out_size(h, kh, sh, 1, name), _out_size(w, kw, sw, 1, name)
    d2 = _out_size(d, kd, sd, 1, name)

    def pool(v, shapes, fh, fw, th, tw):
        return ctx.emit(op, [v], [shapes], padding=pad, stride_h=th, stride_w=tw,
                        filter_height=fh, filter_width=fw, fused_activation_function=0)[0]

    def reshape(v, dims):
        target = Value("int32", ((len(dims) + 1,),) * 2,
                       const=np.asarray([-1, *dims], np.int32))
        return ctx.emit("RESHAPE", [v, target], [per_batch(
            lambda s: (int(np.prod(s)) // int(np.prod(dims)),) + tuple(dims), v)])[0]

    planes = reshape(x, (h, w, c))
    planes = pool(planes, per_batch(lambda s: (s[0], h2, w2, c), planes), kh, kw, sh, sw)
    depth = reshape(planes, (d, h2 * w2, c))
    depth = pool(depth, per_batch(lambda s: (s[0], d2, h2 * w2, c), depth), kd, 1, sd, 1)
    return [reshape(depth, (d2, h2, w2, c))]


@translates("FusedBatchNormV3")
def _batch_norm(ctx, node, ins):
    if attr(node, "is_training", False):
        raise _refuse(node, "is_training False (inference)")
    x = ins[0]
    gamma, beta, mean, var = (_weights(node, v, "constant statistics") for v in ins[1:5])
    scale = gamma / np.sqrt(var + np.float32(attr(node, "epsilon", 1e-4)))
    offset = (beta - mean * scale).astype(np.float32)
    folded = fold_affine(ctx, node.inputs[0], x, scale.astype(np.float32), offset)
    if folded is not None:
        return [folded]
    y = ctx.binary("MUL", x, Value("float32", ((len(scale),),) * 2,
                                   const=scale.astype(np.float32)), fused_activation_function=0)
    return [ctx.binary("ADD", y, Value("float32", ((len(offset),),) * 2, const=offset),
                       fused_activation_function=0)]


@translates("ResizeBilinear", "ResizeNearestNeighbor")
def _resize(ctx, node, ins):
    x, size = ins
    if size.const is None:
        raise _refuse(node, "a constant output size")
    h, w = (int(v) for v in size.const)
    op = "RESIZE_BILINEAR" if node.op == "ResizeBilinear" else "RESIZE_NEAREST_NEIGHBOR"
    return ctx.emit(op, [x, Value("int32", ((2,), (2,)), const=size.const.astype(np.int32))],
                    [per_batch(lambda s: (s[0], h, w, s[3]), x)],
                    align_corners=bool(attr(node, "align_corners", False)),
                    half_pixel_centers=bool(attr(node, "half_pixel_centers", False)))


# ----------------------------------------------------------------------------- activations
# TANH is a fused activation in the schema, but FULLY_CONNECTED's kernel refuses it
_FUSABLE = {"Relu": "RELU", "Relu6": "RELU6"}


@translates("Tanh")
def _tanh(ctx, node, ins):
    return [ctx.unary("TANH", ins[0])]


@translates("Relu", "Relu6")
def _fusable_activation(ctx, node, ins):
    op = fused = _FUSABLE[node.op]
    producer = ctx.producer_if_only_use(node.inputs[0], ins[0])
    if producer is not None and producer.op in _FUSES_ACTIVATION and \
            producer.options.get("fused_activation_function") == 0:
        producer.options["fused_activation_function"] = ACTIVATIONS[fused]
        return [ins[0]]
    return [ctx.unary(op, ins[0])]


@translates("Selu")
def _selu(ctx, node, ins):
    """scale * relu(x) + scale * alpha * min(elu(x), 0): TFLite has no SELU."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    x = ins[0]
    neg = ctx.binary("MINIMUM", ctx.unary("ELU", x), ctx.scalar(0.0))
    return [ctx.binary("ADD", ctx.binary("MUL", ctx.unary("RELU", x), ctx.scalar(scale),
                                         fused_activation_function=0),
                       ctx.binary("MUL", neg, ctx.scalar(scale * alpha),
                                  fused_activation_function=0), fused_activation_function=0)]


@translates("Softplus")
def _softplus(ctx, node, ins):
    """relu(x) + log(1 + exp(-|x|)): log(1 + e^x) without overflow."""
    x = ins[0]
    tail = ctx.unary("EXP", ctx.unary("NEG", ctx.unary("ABS", x)))
    tail = ctx.unary("LOG", ctx.binary("ADD", tail, ctx.scalar(1.0), fused_activation_function=0))
    return [ctx.binary("ADD", ctx.unary("RELU", x), tail, fused_activation_function=0)]


_ERF = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


@translates("Erf")
def _erf(ctx, node, ins):
    """erf(x) = sign(x) (1 - poly(t) e^(-x^2)), t = 1 / (1 + p|x|) (Abramowitz and Stegun
    7.1.26, error below 1.5e-7): TFLite has GELU but no ERF."""
    x = ins[0]
    a = ctx.unary("ABS", x)
    t = ctx.binary("DIV", ctx.scalar(1.0), ctx.binary("ADD", ctx.binary(
        "MUL", a, ctx.scalar(0.3275911), fused_activation_function=0), ctx.scalar(1.0),
        fused_activation_function=0), fused_activation_function=0)
    poly = ctx.binary("MUL", t, ctx.scalar(_ERF[4]), fused_activation_function=0)
    for c in reversed(_ERF[:4]):
        poly = ctx.binary("MUL", ctx.binary("ADD", poly, ctx.scalar(c),
                                            fused_activation_function=0), t,
                          fused_activation_function=0)
    decay = ctx.unary("EXP", ctx.unary("NEG", ctx.unary("SQUARE", x)))
    y = ctx.binary("SUB", ctx.scalar(1.0), ctx.binary("MUL", poly, decay,
                                                      fused_activation_function=0),
                   fused_activation_function=0)
    return [ctx.binary("MUL", ctx.unary("SIGN", x), y, fused_activation_function=0)]


def match_gelu(ctx: Context, node) -> Value | None:
    """The exact GELU the lowering writes, ``(x * 0.5) * (erf(x * 1/sqrt 2) + 1)``, as one
    GELU op (its inner nodes are then left unused and dropped)."""
    half, plus = (ctx.producer_node(e) for e in node.inputs)
    if half is None or plus is None or half.op != "Mul" or plus.op != "AddV2":
        return None
    erf = ctx.producer_node(plus.inputs[0])
    inner = ctx.producer_node(erf.inputs[0]) if erf is not None and erf.op == "Erf" else None
    if inner is None or inner.op != "Mul" or inner.inputs[0] != half.inputs[0]:
        return None
    consts = [ctx.values[e].const for e in (half.inputs[1], plus.inputs[1], inner.inputs[1])]
    want = (0.5, 1.0, 1 / math.sqrt(2))
    if any(c is None or c.size != 1 or abs(float(c) - w) > 1e-6 for c, w in zip(consts, want)):
        return None
    return ctx.unary("GELU", ctx.values[half.inputs[0]], approximate=False)


__all__ = ["fold_affine", "match_gelu"]
