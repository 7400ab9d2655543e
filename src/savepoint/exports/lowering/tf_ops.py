"""Lowering of the TF-op layers (TFOpLambda, SlicingOpLambda) that tf.keras 2 configs record.

``x * 2``, ``tf.reshape(x, ...)`` or ``x[:, 1:]`` on a symbolic tensor become one layer named by
its TF function, with the call's other arguments (constants, or more tensors) in the graph node.
The common float32 functions map onto single TF ops or short chains: arithmetic and unary
``tf.math``, the ``tf.nn`` activations, softmax/log_softmax, reductions, ``reshape``,
``transpose``, ``concat``, ``stack``, ``expand_dims``, ``squeeze``, ``matmul``,
``clip_by_value``, ``l2_normalize``, ``tile`` and slicing (StridedSlice with tf.keras's masks).
Anything else (comparisons, casts, ``tf.shape``, tensors where a constant is needed) is refused
by name.

Example:
    >>> import savepoint as keras
    >>> x = keras.Input((4,))
    >>> y = keras.layers.TFOpLambda("math.multiply")(x[:, 1:], y=2.0)
    >>> from savepoint.exports.lowering import lower_model
    >>> [n.op for n in lower_model(keras.Model(x, y)).function.nodes if n.op != "Const"]
    ['StridedSlice', 'Mul', 'Identity']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.layers import T, _refuse, lowers
from savepoint.exports.lowering.misc import _axes, l2_normalize, reduce, softmax, transpose
from savepoint.saving.formats.saved_model.schema import DT_INT32


_UNARY_TF = {"math.abs": "Abs", "math.exp": "Exp", "math.log": "Log", "math.sqrt": "Sqrt",
             "math.rsqrt": "Rsqrt", "math.square": "Square", "math.negative": "Neg",
             "math.sigmoid": "Sigmoid", "nn.sigmoid": "Sigmoid", "math.tanh": "Tanh",
             "math.softplus": "Softplus", "nn.elu": "Elu", "nn.relu": "Relu",
             "nn.relu6": "Relu6", "nn.selu": "Selu", "nn.softsign": "Softsign",
             "math.sin": "Sin", "math.cos": "Cos", "math.floor": "Floor", "math.sign": "Sign",
             "math.erf": "Erf", "math.reciprocal": "Reciprocal", "identity": "Identity"}
_BINARY_TF = {"__operators__.add": "AddV2", "math.add": "AddV2", "math.subtract": "Sub",
              "math.multiply": "Mul", "math.truediv": "RealDiv", "math.divide": "RealDiv",
              "math.pow": "Pow", "math.maximum": "Maximum", "math.minimum": "Minimum"}
_REDUCE_TF = {"math.reduce_mean": "Mean", "math.reduce_sum": "Sum", "math.reduce_max": "Max",
              "math.reduce_min": "Min"}
# Each other function's parameters in TF's order, with defaults (how its node records them).
_PARAMS = {
    "reshape": ("tensor", "shape"), "transpose": ("a", ("perm", None)),
    "compat.v1.transpose": ("a", ("perm", None)), "concat": ("values", "axis"),
    "stack": ("values", ("axis", 0)), "expand_dims": ("input", "axis"),
    "squeeze": ("input", ("axis", None)), "compat.v1.squeeze": ("input", ("axis", None)),
    "nn.softmax": ("logits", ("axis", None)), "nn.log_softmax": ("logits", ("axis", None)),
    "nn.gelu": ("features", ("approximate", False)), "nn.silu": ("features", ("beta", 1.0)),
    "nn.swish": ("features", ("beta", 1.0)), "nn.leaky_relu": ("features", ("alpha", 0.2)),
    "clip_by_value": ("t", "clip_value_min", "clip_value_max"),
    "math.l2_normalize": ("x", ("axis", None), ("epsilon", 1e-12)),
    "tile": ("input", "multiples"), "linalg.matmul": ("a", "b", ("transpose_a", False),
                                                     ("transpose_b", False)),
    "__operators__.getitem": ("tensor", "slice_spec"),
    **{name: ("input_tensor", ("axis", None), ("keepdims", False)) for name in _REDUCE_TF},
    **{name: (("x", None), ("features", None), ("input", None)) for name in _UNARY_TF},
    **{name: ("x", "y") for name in _BINARY_TF},
}
_PARAMS["matmul"] = _PARAMS["linalg.matmul"]


def _bind(layer: Any, node: Any) -> dict:
    params = [p if isinstance(p, tuple) else (p, _REQUIRED) for p in _PARAMS[layer.function]]
    bound = {name: default for name, default in params}
    for (name, _), value in zip(params, node.args):
        bound[name] = value
    bound.update({k: v for k, v in node.kwargs.items() if k in bound})
    if any(v is _REQUIRED for v in bound.values()):
        raise _refuse(layer, f"the arguments of tf.{layer.function} (received "
                             f"{len(node.args)} positional, {sorted(node.kwargs)})")
    return bound


_REQUIRED = object()


def _tf_value(b: FunctionBuilder, layer: Any, value: Any, edges: dict) -> str:
    """A tensor argument's edge, or a Python constant as a float32 Const."""
    if hasattr(value, "_history"):
        if value.dtype != "float32":
            raise _refuse(layer, f"float32 tensors (received {value.dtype})")
        return edges[id(value)]
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise _refuse(layer, f"tensors or numbers as the arguments (received {value!r})")
    return b.const(array.astype(np.float32))


def _static_ints(layer: Any, value: Any, what: str) -> list[int]:
    values = value if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise _refuse(layer, f"a constant {what} of ints (received {value!r})")
    return [int(v) for v in values]


@lowers("TFOpLambda", "SlicingOpLambda")
def _tf_op(b, layer, xs, shapes, outs):
    """The common tf.* calls tf.keras 2 records as TF-op layers (float32 in and out)."""
    node, fn = b.node, layer.function
    if fn not in _PARAMS or node.output_tensors[0].dtype != "float32":
        raise _refuse(layer, f"a float32 TF op among {sorted(_PARAMS)} (received tf.{fn} "
                             f"giving {node.output_tensors[0].dtype})")
    edges = {id(t): e for t, e in zip(node.input_tensors, xs)}
    a = _bind(layer, node)
    val = lambda v: _tf_value(b, layer, v, edges)  # noqa: E731
    first = next(iter(a.values()))
    rank = len(first.shape) if hasattr(first, "shape") else 0
    if fn in _UNARY_TF:
        x = next(v for v in a.values() if v is not None)
        return [b.op(_UNARY_TF[fn], [val(x)], T=T)]
    if fn in _BINARY_TF:
        return [b.op(_BINARY_TF[fn], [val(a["x"]), val(a["y"])], T=T)]
    return [_TF_STRUCTURAL[fn.split(".")[-1]](b, layer, a, val, rank, node)]


def _axes_or_all(layer: Any, axis: Any, rank: int) -> list[int]:
    return list(range(rank)) if axis is None else _axes(_static_ints(layer, axis, "axis"), rank)


def _getitem(b, layer, a, val, rank, node):
    spec = a["slice_spec"]
    items = spec if isinstance(spec, list) else [spec]
    begin, end, strides, masks = [], [], [], dict(begin=0, end=0, ellipsis=0, new_axis=0,
                                                  shrink_axis=0)
    for i, item in enumerate(items):
        bit = 1 << i
        if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
            masks["ellipsis"] |= bit
            item = (0, 0, 1)
        elif isinstance(item, dict):
            masks["begin"] |= bit if item["start"] is None else 0
            masks["end"] |= bit if item["stop"] is None else 0
            item = (item["start"] or 0, item["stop"] or 0, item["step"] or 1)
        elif item is None:
            masks["new_axis"] |= bit
            item = (0, 0, 1)
        else:
            masks["shrink_axis"] |= bit
            item = (int(item), int(item) + 1, 1)
        begin.append(item[0])
        end.append(item[1])
        strides.append(item[2])
    return b.op("StridedSlice", [val(a["tensor"]), b.ints(begin), b.ints(end), b.ints(strides)],
                T=T, Index=DT_INT32, **{f"{k}_mask": v for k, v in masks.items()})


def _matmul(b, layer, a, val, rank, node):
    x, y = val(a["a"]), val(a["b"])
    ranks = [len(v.shape) if hasattr(v, "shape") else np.ndim(v) for v in (a["a"], a["b"])]
    if ranks == [2, 2]:
        return b.op("MatMul", [x, y], T=T, transpose_a=bool(a["transpose_a"]),
                    transpose_b=bool(a["transpose_b"]))
    return b.op("BatchMatMulV2", [x, y], T=T, adj_x=bool(a["transpose_a"]),
                adj_y=bool(a["transpose_b"]))


def _gelu(b, layer, a, val, rank, node):
    x = val(a["features"])
    if not a["approximate"]:
        from savepoint.exports.lowering.layers import activate
        return activate(b, "gelu", x, layer)
    # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    cube = b.op("Mul", [b.op("Mul", [x, b.op("Square", [x], T=T)], T=T), b.scalar(0.044715)],
                T=T)
    inner = b.op("Mul", [b.op("AddV2", [x, cube], T=T), b.scalar(float(np.sqrt(2 / np.pi)))],
                 T=T)
    half = b.op("Mul", [x, b.scalar(0.5)], T=T)
    return b.op("Mul", [half, b.op("AddV2", [b.op("Tanh", [inner], T=T), b.scalar(1.0)], T=T)],
                T=T)


def _silu(b, layer, a, val, rank, node):
    x, beta = val(a["features"]), float(a["beta"])
    scaled = x if beta == 1.0 else b.op("Mul", [x, b.scalar(beta)], T=T)
    return b.op("Mul", [x, b.op("Sigmoid", [scaled], T=T)], T=T)


def _softmax_tf(b, layer, a, val, rank, node):
    axes = _axes_or_all(layer, -1 if a["axis"] is None else a["axis"], rank)
    if layer.function.endswith("log_softmax"):
        if axes != [rank - 1]:
            raise _refuse(layer, "log_softmax over the last axis")
        return b.op("LogSoftmax", [val(a["logits"])], T=T)
    return softmax(b, val(a["logits"]), axes, rank)


def _squeeze(b, layer, a, val, rank, node):
    shape = a["input"].shape
    dims = [i for i in range(1, rank) if shape[i] == 1] if a["axis"] is None else \
        _static_ints(layer, a["axis"], "axis")
    return b.op("Squeeze", [val(a["input"])], T=T, squeeze_dims=dims)


def _concat_or_stack(b, layer, a, val, rank, node):
    values = [val(v) for v in a["values"]]
    axis = _static_ints(layer, a["axis"], "axis")[0]
    if layer.function == "stack":
        return b.op("Pack", values, T=T, N=len(values), axis=axis)
    return b.op("ConcatV2", values + [b.const(np.asarray(axis, np.int32))], N=len(values), T=T,
                Tidx=DT_INT32)


_TF_STRUCTURAL = {
    "reshape": lambda b, layer, a, val, rank, node: b.op(
        "Reshape", [val(a["tensor"]), b.ints(_static_ints(layer, a["shape"], "shape"))], T=T,
        Tshape=DT_INT32),
    "transpose": lambda b, layer, a, val, rank, node: transpose(
        b, val(a["a"]), list(range(rank))[::-1] if a["perm"] is None else
        _static_ints(layer, a["perm"], "perm")),
    "concat": _concat_or_stack, "stack": _concat_or_stack,
    "expand_dims": lambda b, layer, a, val, rank, node: b.op(
        "ExpandDims", [val(a["input"]), b.const(np.asarray(
            _static_ints(layer, a["axis"], "axis")[0], np.int32))], T=T, Tdim=DT_INT32),
    "squeeze": _squeeze, "softmax": _softmax_tf, "log_softmax": _softmax_tf, "gelu": _gelu,
    "silu": _silu, "swish": _silu,
    "leaky_relu": lambda b, layer, a, val, rank, node: b.op(
        "LeakyRelu", [val(a["features"])], T=T, alpha=float(a["alpha"])),
    "clip_by_value": lambda b, layer, a, val, rank, node: b.op("Minimum", [b.op(
        "Maximum", [val(a["t"]), val(a["clip_value_min"])], T=T), val(a["clip_value_max"])],
        T=T),
    "l2_normalize": lambda b, layer, a, val, rank, node: l2_normalize(
        b, val(a["x"]), _axes_or_all(layer, a["axis"], rank), float(a["epsilon"])),
    "tile": lambda b, layer, a, val, rank, node: b.op(
        "Tile", [val(a["input"]), b.ints(_static_ints(layer, a["multiples"], "multiples"))],
        T=T, Tmultiples=DT_INT32),
    "matmul": _matmul, "getitem": _getitem,
    **{name.split(".")[-1]: (lambda op: lambda b, layer, a, val, rank, node: reduce(
        b, op, val(a["input_tensor"]), _axes_or_all(layer, a["axis"], rank),
        bool(a["keepdims"])))(op) for name, op in _REDUCE_TF.items()},
}


__all__: list[str] = []  # the lowerings register themselves
