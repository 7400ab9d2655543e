"""TFLite translations of the elementwise, shape, reduction and indexing ops, with the numpy
folds (``FOLD``) that evaluate them on constants and shape-derived values.

Example:
    >>> import savepoint as keras
    >>> from savepoint.exports.litert.convert import convert
    >>> from savepoint.exports.lowering import lower_model
    >>> x = keras.Input((4, 5))
    >>> m = keras.Model(x, keras.layers.GlobalAveragePooling1D()(keras.layers.Reshape((5, 4))(x)))
    >>> convert(lower_model(m), quantize=None).opcodes
    ['RESHAPE', 'MEAN']
"""

from __future__ import annotations

import numpy as np

from savepoint.exports.litert.convert import (Context, attr, dtype_of, folds, per_batch,
                                              translates)
from savepoint.exports.litert.graph import Value, constant
from savepoint.exports.litert.nn import _refuse, fold_affine, match_gelu
from savepoint.exports.litert.schema import TENSOR_TYPES

_UNARY = {"Elu": "ELU", "Sigmoid": "LOGISTIC", "Exp": "EXP", "Neg": "NEG", "Sqrt": "SQRT",
          "Rsqrt": "RSQRT", "Square": "SQUARE", "Abs": "ABS", "Log": "LOG", "Sin": "SIN",
          "Cos": "COS", "Floor": "FLOOR", "Sign": "SIGN", "LogSoftmax": "LOG_SOFTMAX"}
_BINARY = {"AddV2": "ADD", "Sub": "SUB", "Mul": "MUL", "RealDiv": "DIV", "Maximum": "MAXIMUM",
           "Minimum": "MINIMUM", "SquaredDifference": "SQUARED_DIFFERENCE", "Pow": "POW",
           "Greater": "GREATER", "GreaterEqual": "GREATER_EQUAL", "NotEqual": "NOT_EQUAL"}
_HAS_ACTIVATION = {"ADD", "SUB", "MUL", "DIV"}
_NUMPY = {"AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply, "RealDiv": np.divide,
          "Maximum": np.maximum, "Minimum": np.minimum, "Pow": np.power,
          "SquaredDifference": lambda a, b: np.square(a - b), "Greater": np.greater,
          "GreaterEqual": np.greater_equal,
          "NotEqual": np.not_equal, "Neg": np.negative, "Sqrt": np.sqrt, "Square": np.square,
          "Exp": np.exp, "Abs": np.abs, "Log": np.log, "Floor": np.floor, "Sign": np.sign,
          "Rsqrt": lambda a: 1 / np.sqrt(a), "Reciprocal": lambda a: 1 / a}


def _ints(values) -> Value:
    return constant(np.asarray(values, np.int32))


# ----------------------------------------------------------------------------- elementwise
@translates(*_UNARY)
def _unary(ctx, node, ins):
    return [ctx.unary(_UNARY[node.op], ins[0])]


@translates("LeakyRelu")
def _leaky_relu(ctx, node, ins):
    return [ctx.unary("LEAKY_RELU", ins[0], alpha=float(attr(node, "alpha", 0.2)))]


@translates("Softmax")
def _softmax(ctx, node, ins):
    return [ctx.unary("SOFTMAX", ins[0], beta=1.0)]


@translates("Reciprocal")
def _reciprocal(ctx, node, ins):
    return [ctx.binary("DIV", ctx.scalar(1.0), ins[0], fused_activation_function=0)]


@translates("Softsign")
def _softsign(ctx, node, ins):
    x = ins[0]
    denominator = ctx.binary("ADD", ctx.unary("ABS", x), ctx.scalar(1.0),
                             fused_activation_function=0)
    return [ctx.binary("DIV", x, denominator, fused_activation_function=0)]


@translates(*_BINARY)
def _binary(ctx, node, ins):
    a, b = ins
    if node.op == "Mul":
        gelu = match_gelu(ctx, node)
        if gelu is not None:
            return [gelu]
    if node.op in ("Mul", "AddV2") and a.const is None and b.const is not None and \
            b.const.ndim <= 1:  # a per-channel constant into the FC/conv before it
        folded = fold_affine(ctx, node.inputs[0], a, b.const.astype(np.float32)
                             if node.op == "Mul" else None,
                             b.const.astype(np.float32) if node.op == "AddV2" else None)
        if folded is not None:
            return [folded]
    op = _BINARY[node.op]
    options = {"fused_activation_function": 0} if op in _HAS_ACTIVATION else {}
    dtype = "bool" if op in ("GREATER", "GREATER_EQUAL", "NOT_EQUAL") else None
    return [ctx.binary(op, a, b, dtype, **options)]


@folds(*_NUMPY)
def _fold_elementwise(node, arrays):
    out = _NUMPY[node.op](*arrays)
    return [np.asarray(out, dtype=out.dtype if out.dtype == bool else arrays[0].dtype)]


@translates("Cast")
def _cast(ctx, node, ins):
    src, dst = dtype_of(attr(node, "SrcT")), dtype_of(attr(node, "DstT"))
    return ctx.emit("CAST", ins, [ins[0].shapes], dst, in_data_type=TENSOR_TYPES[src],
                    out_data_type=TENSOR_TYPES[dst])


@folds("Cast")
def _fold_cast(node, arrays):
    return [arrays[0].astype(dtype_of(attr(node, "DstT")))]


# ----------------------------------------------------------------------------- shapes
def _target(node, shape: Value, world: int) -> tuple:
    values = shape.const if shape.const is not None else shape.known[world]
    return tuple(int(v) for v in values)


def _reshaped(source: tuple, target: tuple) -> tuple:
    if -1 in target:
        rest = int(np.prod([d for d in target if d != -1]))
        target = tuple(int(np.prod(source)) // max(rest, 1) if d == -1 else d for d in target)
    return target


@translates("Reshape")
def _reshape(ctx, node, ins):
    x, shape = ins
    if shape.const is None and shape.known is None:
        raise _refuse(node, "a target shape known from the input shape")
    shapes = tuple(_reshaped(x.shapes[w], _target(node, shape, w)) for w in range(2))
    if shape.const is not None:
        shape = _ints(shape.const)
    return ctx.emit("RESHAPE", [x, shape], [shapes], x.dtype)


@folds("Reshape")
def _fold_reshape(node, arrays):
    return [arrays[0].reshape(tuple(int(v) for v in arrays[1]))]


@translates("Shape")
def _shape(ctx, node, ins):
    dtype = dtype_of(attr(node, "out_type", 3))
    return ctx.emit("SHAPE", ins, [((len(ins[0].shapes[0]),),) * 2], dtype,
                    out_type=TENSOR_TYPES[dtype])


@translates("Transpose")
def _transpose(ctx, node, ins):
    x, perm = ins
    p = [int(v) for v in _const(node, perm, "a constant permutation")]
    return ctx.emit("TRANSPOSE", [x, _ints(p)],
                    [per_batch(lambda s: tuple(s[i] for i in p), x)], x.dtype)


@folds("Transpose")
def _fold_transpose(node, arrays):
    return [np.transpose(arrays[0], [int(v) for v in arrays[1]])]


def _const(node, v: Value, what: str) -> np.ndarray:
    if v.const is None:
        raise _refuse(node, what)
    return v.const


@translates("Pad")
def _pad(ctx, node, ins):
    x, pads = ins
    table = _const(node, pads, "constant paddings").astype(np.int32)
    return ctx.emit("PAD", [x, constant(table)],
                    [per_batch(lambda s: tuple(d + int(a) + int(b) for d, (a, b) in
                                               zip(s, table)), x)], x.dtype)


@translates("ExpandDims")
def _expand_dims(ctx, node, ins):
    x, axis = ins
    a = int(_const(node, axis, "a constant axis"))

    def shape(s):
        at = a if a >= 0 else len(s) + 1 + a
        return tuple(s[:at]) + (1,) + tuple(s[at:])
    return ctx.emit("EXPAND_DIMS", [x, _ints(a)], [per_batch(shape, x)], x.dtype)


@folds("ExpandDims")
def _fold_expand_dims(node, arrays):
    return [np.expand_dims(arrays[0], int(arrays[1]))]


@translates("Squeeze")
def _squeeze(ctx, node, ins):
    x = ins[0]
    rank = len(x.shapes[0])
    dims = [d % rank for d in (attr(node, "squeeze_dims") or [])] or \
        [i for i in range(rank) if x.shapes[0][i] == 1 and x.shapes[1][i] == 1]
    return ctx.emit("SQUEEZE", [x], [per_batch(lambda s: tuple(
        d for i, d in enumerate(s) if i not in dims), x)], x.dtype, squeeze_dims=dims)


@folds("Squeeze")
def _fold_squeeze(node, arrays):
    dims = attr(node, "squeeze_dims") or None
    return [np.squeeze(arrays[0], axis=tuple(dims) if dims else None)]


def _as_type(ctx: Context, node, xs: list[Value]) -> list[Value]:
    """The inputs in the node's declared ``T``: TFLite's CONCATENATION and PACK want one
    type, and TF's function runtime lets an int32 edge reach a float ``T`` (the lowering of
    Discretization's int32 one-hot into a Concatenate does that)."""
    want = dtype_of(attr(node, "T"))
    return [x if x.dtype == want else
            constant(x.const.astype(want)) if x.const is not None else
            ctx.emit("CAST", [x], [x.shapes], want, in_data_type=TENSOR_TYPES[x.dtype],
                     out_data_type=TENSOR_TYPES[want])[0] for x in xs]


@translates("ConcatV2")
def _concat(ctx, node, ins):
    *xs, axis = ins
    xs = _as_type(ctx, node, xs)
    rank = len(xs[0].shapes[0])
    a = int(_const(node, axis, "a constant axis")) % rank

    def shape(*shapes):
        out = list(shapes[0])
        out[a] = sum(s[a] for s in shapes)
        return tuple(out)
    return ctx.emit("CONCATENATION", xs, [per_batch(shape, *xs)], xs[0].dtype, axis=a,
                    fused_activation_function=0)


@folds("ConcatV2")
def _fold_concat(node, arrays):
    return [np.concatenate(arrays[:-1], axis=int(arrays[-1]))]


@translates("Pack")
def _pack(ctx, node, ins):
    ins = _as_type(ctx, node, ins)
    rank = len(ins[0].shapes[0]) + 1
    a = int(attr(node, "axis", 0)) % rank
    return ctx.emit("PACK", ins, [per_batch(lambda s, *_: tuple(s[:a]) + (len(ins),) +
                                            tuple(s[a:]), *ins)], ins[0].dtype,
                    values_count=len(ins), axis=a)


@folds("Pack")
def _fold_pack(node, arrays):
    return [np.stack(arrays, axis=int(attr(node, "axis", 0)))]


@translates("Unpack")
def _unpack(ctx, node, ins):
    x = ins[0]
    a = int(attr(node, "axis", 0)) % len(x.shapes[0])
    num = int(attr(node, "num"))
    shapes = per_batch(lambda s: tuple(d for i, d in enumerate(s) if i != a), x)
    return ctx.emit("UNPACK", [x], [shapes] * num, x.dtype, num=num, axis=a)


@translates("Split")
def _split(ctx, node, ins):
    axis, x = ins
    a = int(_const(node, axis, "a constant axis")) % len(x.shapes[0])
    n = int(attr(node, "num_split"))

    def shape(s):
        return tuple(d // n if i == a else d for i, d in enumerate(s))
    return ctx.emit("SPLIT", [_ints(a), x], [per_batch(shape, x)] * n, x.dtype, num_splits=n)


def _slice_index(arrays: list, node) -> tuple:
    """The numpy index equal to StridedSlice's begin/end/strides and masks."""
    begin, end, strides = (np.asarray(a).reshape(-1).tolist() for a in arrays[1:4])
    masks = {k: int(attr(node, f"{k}_mask", 0) or 0) for k in
             ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        bit = 1 << i
        if masks["ellipsis"] & bit:
            index.append(Ellipsis)
        elif masks["new_axis"] & bit:
            index.append(None)
        elif masks["shrink_axis"] & bit:
            index.append(int(b))
        else:
            index.append(slice(None if masks["begin"] & bit else int(b),
                               None if masks["end"] & bit else int(e), int(s)))
    return tuple(index)


@translates("StridedSlice")
def _strided_slice(ctx, node, ins):
    x, *bounds = ins
    arrays = [None] + [_const(node, v, "constant bounds") for v in bounds]
    index = _slice_index(arrays, node)
    shapes = per_batch(lambda s: np.broadcast_to(np.empty((), np.int8), s)[index].shape, x)
    masks = {f"{k}_mask": int(attr(node, f"{k}_mask", 0) or 0) for k in
             ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
    return ctx.emit("STRIDED_SLICE", [x] + [_ints(a.astype(np.int32)) for a in arrays[1:]],
                    [shapes], x.dtype, **masks)


@folds("StridedSlice")
def _fold_strided_slice(node, arrays):
    return [np.asarray(arrays[0][_slice_index(arrays, node)])]


@translates("Tile")
def _tile(ctx, node, ins):
    x, multiples = ins
    m = [int(v) for v in _const(node, multiples, "constant multiples")]
    return ctx.emit("TILE", [x, _ints(m)], [per_batch(lambda s: tuple(
        d * k for d, k in zip(s, m)), x)], x.dtype)


# ----------------------------------------------------------------------------- reductions
_REDUCE = {"Mean": "MEAN", "Max": "REDUCE_MAX", "Sum": "SUM", "Min": "REDUCE_MIN"}


@translates(*_REDUCE)
def _reduce(ctx, node, ins):
    x, axes = ins
    rank = len(x.shapes[0])
    dims = sorted({int(a) % rank for a in np.asarray(_const(node, axes, "constant axes"))
                   .reshape(-1)})
    keep = bool(attr(node, "keep_dims", False))
    return ctx.emit(_REDUCE[node.op], [x, _ints(dims)], [per_batch(lambda s: tuple(
        1 if i in dims else d for i, d in enumerate(s) if keep or i not in dims), x)],
        x.dtype, keep_dims=keep)


# ----------------------------------------------------------------------------- indexing
@translates("GatherV2")
def _gather(ctx, node, ins):
    params, indices, axis = ins
    rank = len(params.shapes[0])
    a = int(_const(node, axis, "a constant axis")) % rank
    batch_dims = int(attr(node, "batch_dims", 0) or 0)
    return ctx.emit("GATHER", [params, indices], [per_batch(lambda p, i: tuple(p[:a]) + tuple(
        i[batch_dims:]) + tuple(p[a + 1:]), params, indices)], params.dtype, axis=a,
        batch_dims=batch_dims)


@translates("OneHot")
def _one_hot(ctx, node, ins):
    indices, depth, on, off = ins
    d = int(_const(node, depth, "a constant depth"))
    axis = int(attr(node, "axis", -1))

    def shape(s):
        at = len(s) if axis == -1 else axis
        return tuple(s[:at]) + (d,) + tuple(s[at:])
    return ctx.emit("ONE_HOT", [indices, _ints(d), on, off], [per_batch(shape, indices)],
                    on.dtype, axis=axis)


@translates("Bucketize")
def _bucketize(ctx, node, ins):
    return ctx.emit("BUCKETIZE", ins, [ins[0].shapes], "int32",
                    boundaries=[float(v) for v in attr(node, "boundaries")])


__all__: list[str] = []
