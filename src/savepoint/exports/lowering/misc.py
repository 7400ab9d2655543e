"""Lowerings of the remaining non-spatial layers, and where Keras masks flow in the graph.

Permute, RepeatVector, Dot, PReLU, ThresholdedReLU, Softmax over any axes, UnitNormalization,
GroupNormalization, Masking and the TF-op layers tf.keras configs record become plain TF ops; a
Lambda layer (Python code) is refused by name. ``trace_masks`` follows the masks of Masking
layers and of ``Embedding(mask_zero=True)`` through the graph before lowering: a mask that only
passes through layers that ignore it costs nothing, while a mask that reaches a layer which
would compute differently with it is refused, unless that layer's lowering applies it (the
attention layers and GlobalAveragePooling1D here, through ``mask_of``; the recurrent layers in
exports/lowering/recurrent.py). Embedding and GlobalAveragePooling1D keep spatial's lowering
when no mask is involved.

Example:
    >>> import savepoint as keras
    >>> x = keras.Input((3, 2))
    >>> h = keras.layers.Dense(4)(keras.layers.Masking()(x))
    >>> m = keras.Model(x, keras.layers.Softmax()(h))
    >>> from savepoint.exports.lowering import lower_model
    >>> lower_model(m)
    Traceback (most recent call last):
    ...
    savepoint.exports.lowering.builder.LoweringError: Layer 'softmax' (Softmax) cannot be lowered to TensorFlow ops: expected no Keras mask on its inputs (received the mask of Masking layer 'masking'). Fix: change that option, or serve the model from savepoint (its directory's inference/ program).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.exports.lowering import spatial  # noqa: F401 (its lowerings are wrapped here)
from savepoint.exports.lowering.builder import FunctionBuilder, LoweringError
from savepoint.exports.lowering.layers import LOWERINGS, T, _refuse, _variables, lowers
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_FLOAT, DT_INT32, DT_INT64
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for

DERIVED = -1  # a mask some layer computed (merged, concatenated): not lowered
MASK_LOWERED = frozenset({"Attention", "AdditiveAttention", "MultiHeadAttention",
                          "GlobalAveragePooling1D"})


# ----------------------------------------------------------------------------- masks
def trace_masks(graph: Any) -> dict[int, Any]:
    """``{id(tensor): source}`` for every tensor that carries a Keras mask: ``source`` is the
    id of the Masking output whose mask it carries unchanged, or ``DERIVED``. Raises
    ``LoweringError`` when a mask reaches a layer that would use it and whose lowering
    does not."""
    masks: dict[int, Any] = {}
    _trace(graph, masks, {})
    return masks


def _trace(graph: Any, masks: dict, names: dict) -> None:
    for node in graph.nodes:
        if not node.input_tensors:
            continue
        layer = node.layer
        ins = [masks.get(id(t)) for t in node.input_tensors]
        if hasattr(layer, "_graph") or hasattr(layer, "_stack"):  # a nested model
            from savepoint.exports.lowering import _graph_of
            inner = _graph_of(layer)
            for t, m in zip(inner.flat_inputs, ins):
                if m is not None:
                    masks[id(t)] = m
            _trace(inner, masks, names)
            outs = [masks.get(id(t)) for t in inner.flat_outputs]
        else:
            outs = _layer_masks(layer, node, ins, names)
        for t, m in zip(node.output_tensors, outs):
            if m is not None:
                masks[id(t)] = m


def _layer_masks(layer: Any, node: Any, ins: list, names: dict) -> list:
    """The masks of ``layer``'s outputs (as tf.keras 2 computes them), refusing a mask the
    layer would consume."""
    name, n_out = type(layer).__name__, len(node.output_tensors)
    if name == "Masking" or (name == "Embedding" and getattr(layer, "mask_zero", False)):
        names[id(node.output_tensors[0])] = f"{name} layer '{layer.name}'"
        return [id(node.output_tensors[0])]
    present = [m for m in ins if m is not None]
    if not present:
        return [None] * n_out
    recurrent = type(layer).__module__.startswith("savepoint.layers.recurrent.")
    consumes = getattr(layer, "_call_has_mask", False) or name == "MultiHeadAttention"
    if consumes and not recurrent and name not in MASK_LOWERED:
        source = present[0]
        what = names.get(source, "a merge or concatenation of masks")
        raise _refuse(layer, f"no Keras mask on its inputs (received the mask of {what})")
    if recurrent:  # the mask follows the sequence; states carry none
        return [ins[0] if getattr(layer, "return_sequences", True) else None] + \
            [None] * (n_out - 1)
    if name == "GlobalAveragePooling1D":
        return [None]
    if name in MASK_LOWERED:
        return [ins[0]] + [None] * (n_out - 1)   # the query's mask
    if name == "Dot":
        return [None] * n_out
    if name == "Concatenate" or (getattr(layer, "_computes_mask", False) and
                                 not hasattr(layer, "_merge")):
        return [DERIVED] * n_out
    if hasattr(layer, "_merge"):  # the AND of the inputs' masks
        return [present[0] if len(set(present)) == 1 else DERIVED] * n_out
    return [ins[0] if layer.supports_masking else None] * n_out


def mask_of(b: FunctionBuilder, tensor: Any, layer: Any) -> str | None:
    """The float mask (1 keep, 0 masked) of ``tensor``, shaped like it without its last axis,
    or ``None``; ``layer`` is the consumer named when the mask cannot be lowered."""
    source = getattr(b, "masks", {}).get(id(tensor))
    if source is None:
        return None
    edges = b.__dict__.setdefault("mask_edges", {})
    if source not in edges:
        raise _refuse(layer, "a Keras mask straight from a Masking or Embedding layer "
                             "(received a mask a merge or concatenation computed)")
    keep, squeezed = edges[source]
    if squeezed is None:
        squeezed = b.op("Squeeze", [keep], T=T, squeeze_dims=[-1])
        edges[source] = (keep, squeezed)
    return squeezed


@lowers("Masking")
def _masking(b, layer, xs, shapes, outs):
    differs = b.op("NotEqual", [xs[0], b.scalar(float(layer.mask_value))], T=T)
    keep = b.op("Max", [b.op("Cast", [differs], SrcT=DT_BOOL, DstT=T), b.ints([-1])], T=T,
                Tidx=DT_INT32, keep_dims=True)
    b.__dict__.setdefault("mask_edges", {})[id(b.node.output_tensors[0])] = (keep, None)
    return [b.op("Mul", [xs[0], keep], T=T)]


_SPATIAL = {name: LOWERINGS[name] for name in ("Embedding", "GlobalAveragePooling1D")}


@lowers("Embedding")
def _embedding(b, layer, xs, shapes, outs):
    """spatial's gather; with ``mask_zero``, also the mask ``ids != 0`` later layers read."""
    if not layer.mask_zero:
        return _SPATIAL["Embedding"](b, layer, xs, shapes, outs)
    indices, dtype = xs[0], tf_enum_for(b.node_dtypes[0])
    zero = b.const(np.zeros((), np.float32 if dtype == DT_FLOAT else
                            np.int64 if dtype == DT_INT64 else np.int32))
    mask = b.op("Cast", [b.op("NotEqual", [indices, zero], T=dtype)], SrcT=DT_BOOL, DstT=T)
    b.__dict__.setdefault("mask_edges", {})[id(b.node.output_tensors[0])] = (None, mask)
    if dtype not in (DT_INT32, DT_INT64):  # as Keras: float ids are cast to int32
        indices, dtype = b.op("Cast", [indices], SrcT=dtype, DstT=DT_INT32), DT_INT32
    table = b.variable(_variables(layer)["embeddings"])
    return [b.op("GatherV2", [table, indices, b.const(np.asarray(0, np.int32))], Tparams=T,
                 Tindices=dtype, Taxis=DT_INT32)]


@lowers("GlobalAveragePooling1D")
def _global_average_1d(b, layer, xs, shapes, outs):
    """spatial's mean; with a mask, ``sum(x * mask) / sum(mask)`` over the steps, as Keras."""
    mask = mask_of(b, b.node.input_tensors[0], layer)
    if mask is None:
        return _SPATIAL["GlobalAveragePooling1D"](b, layer, xs, shapes, outs)
    # the mask is over the steps: axis 1, or 2 for channels_first (which spatial_more may
    # already have transposed to a channels-last view)
    first = layer.get_config().get("data_format", "channels_last") == "channels_first"
    weights = b.op("ExpandDims", [mask, b.const(np.asarray(1 if first else -1, np.int32))], T=T,
                   Tdim=DT_INT32)
    keep = bool(layer.get_config().get("keepdims", False))
    steps = [2 if first else 1]
    total = reduce(b, "Sum", b.op("Mul", [xs[0], weights], T=T), steps, keep)
    return [b.op("RealDiv", [total, reduce(b, "Sum", weights, steps, keep)], T=T)]


@lowers("Lambda")
def _lambda(b, layer, xs, shapes, outs):
    raise LoweringError(f"Layer '{layer.name}' (Lambda) cannot be lowered to TensorFlow ops: "
                        f"expected layers whose computation is known. Received a Lambda, whose "
                        f"function is Python code. Fix: replace it by built-in layers or "
                        f"TF-op calls on symbolic tensors (x * 2, x[:, 0]), or serve the model "
                        f"from savepoint (its directory's inference/ program).")


# ----------------------------------------------------------------------------- helpers
def reduce(b: FunctionBuilder, op: str, x: str, axes: list[int], keep: bool = True) -> str:
    """``op`` (Sum, Mean, Max, Min) of ``x`` over ``axes``."""
    return b.op(op, [x, b.ints(axes)], T=T, Tidx=DT_INT32, keep_dims=keep)


def transpose(b: FunctionBuilder, x: str, perm: list[int]) -> str:
    if list(perm) == list(range(len(perm))):
        return x
    return b.op("Transpose", [x, b.ints(perm)], T=T, Tperm=DT_INT32)


def reshape(b: FunctionBuilder, x: str, dims: list) -> str:
    """``x`` reshaped to ``dims``; one ``None`` (the batch) becomes -1."""
    return b.op("Reshape", [x, b.ints([-1 if d is None else int(d) for d in dims])], T=T,
                Tshape=DT_INT32)


def softmax(b: FunctionBuilder, x: str, axes: list[int], rank: int) -> str:
    """Softmax over ``axes`` (non-negative): TF's op on the last axis, else exp(x - max) / sum."""
    if axes == [rank - 1]:
        return b.op("Softmax", [x], T=T)
    shifted = b.op("Exp", [b.op("Sub", [x, reduce(b, "Max", x, axes)], T=T)], T=T)
    return b.op("RealDiv", [shifted, reduce(b, "Sum", shifted, axes)], T=T)


def l2_normalize(b: FunctionBuilder, x: str, axes: list[int], epsilon: float = 1e-12) -> str:
    """``x / sqrt(max(sum(x^2), epsilon))``, as tf.math.l2_normalize."""
    total = reduce(b, "Sum", b.op("Square", [x], T=T), axes)
    return b.op("Mul", [x, b.op("Rsqrt", [b.op("Maximum", [total, b.scalar(epsilon)], T=T)],
                                T=T)], T=T)


def _axes(axis: Any, rank: int) -> list[int]:
    return sorted(int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis]))


# ----------------------------------------------------------------------------- layers
@lowers("Softmax")
def _softmax(b, layer, xs, shapes, outs):
    return [softmax(b, xs[0], _axes(layer.get_config().get("axis", -1), len(shapes[0])),
                    len(shapes[0]))]


@lowers("Permute")
def _permute(b, layer, xs, shapes, outs):
    return [transpose(b, xs[0], [0] + [int(d) for d in layer.dims])]


@lowers("RepeatVector")
def _repeat_vector(b, layer, xs, shapes, outs):
    x = b.op("ExpandDims", [xs[0], b.const(np.asarray(1, np.int32))], T=T, Tdim=DT_INT32)
    return [b.op("Tile", [x, b.ints([1, int(layer.n), 1])], T=T, Tmultiples=DT_INT32)]


@lowers("PReLU")
def _prelu(b, layer, xs, shapes, outs):
    # Keras's relu(x) - alpha * relu(-x); alpha is shaped to broadcast (shared axes are 1)
    alpha = b.variable(_variables(layer)["alpha"])
    negative = b.op("Relu", [b.op("Neg", xs[:1], T=T)], T=T)
    return [b.op("Sub", [b.op("Relu", xs[:1], T=T), b.op("Mul", [alpha, negative], T=T)], T=T)]


@lowers("ThresholdedReLU")
def _thresholded_relu(b, layer, xs, shapes, outs):
    above = b.op("Greater", [xs[0], b.scalar(float(layer.theta))], T=T)
    return [b.op("Mul", [xs[0], b.op("Cast", [above], SrcT=DT_BOOL, DstT=T)], T=T)]


@lowers("UnitNormalization")
def _unit_norm(b, layer, xs, shapes, outs):
    return [l2_normalize(b, xs[0], _axes(layer.axis, len(shapes[0])))]


@lowers("GroupNormalization")
def _group_norm(b, layer, xs, shapes, outs):
    shape, rank = tuple(shapes[0]), len(shapes[0])
    axis, groups = layer._channel_axis % rank, int(layer._groups)
    if any(d is None for d in shape[1:]):
        raise _refuse(layer, f"a static input shape besides the batch (received {shape})")
    perm = [i for i in range(rank) if i != axis] + [axis]
    x = transpose(b, xs[0], perm)
    moved = [shape[i] for i in perm]
    channels = int(moved[-1])
    grouped = reshape(b, x, [None, int(np.prod(moved[1:-1], dtype=np.int64)), groups,
                             channels // groups])
    mean = reduce(b, "Mean", grouped, [1, 3])
    var = reduce(b, "Mean", b.op("SquaredDifference", [grouped, mean], T=T), [1, 3])
    inv = b.op("Rsqrt", [b.op("AddV2", [var, b.scalar(float(layer.epsilon))], T=T)], T=T)
    y = reshape(b, b.op("Mul", [b.op("Sub", [grouped, mean], T=T), inv], T=T), moved)
    v = _variables(layer)
    if "gamma" in v:
        y = b.op("Mul", [y, b.variable(v["gamma"])], T=T)
    if "beta" in v:
        y = b.op("AddV2", [y, b.variable(v["beta"])], T=T)
    return [transpose(b, y, sorted(range(rank), key=perm.__getitem__))]


@lowers("Dot")
def _dot(b, layer, xs, shapes, outs):
    """As savepoint computes it: each dot axis moved next to the other, one BatchMatMulV2."""
    sx, sy = tuple(shapes[0]), tuple(shapes[1])
    if any(d is None for d in sx[1:] + sy[1:]):
        raise _refuse(layer, f"static input shapes besides the batch (received {sx}, {sy})")
    ax, ay = layer._resolve([sx, sy])
    x, y = xs[0], xs[1]
    if layer.normalize:
        x, y = l2_normalize(b, x, [ax]), l2_normalize(b, y, [ay])
    rest_x = [sx[i] for i in range(1, len(sx)) if i != ax]
    rest_y = [sy[i] for i in range(1, len(sy)) if i != ay]
    x = transpose(b, x, [0] + [i for i in range(1, len(sx)) if i != ax] + [ax])
    y = transpose(b, y, [0, ay] + [i for i in range(1, len(sy)) if i != ay])
    size_x, size_y = int(np.prod(rest_x, dtype=np.int64)), int(np.prod(rest_y, dtype=np.int64))
    product = b.op("BatchMatMulV2", [reshape(b, x, [None, size_x, sx[ax]]),
                                     reshape(b, y, [None, sy[ay], size_y])], T=T)
    return [reshape(b, product, [None] + (rest_x + rest_y or [1]))]



# ----------------------------------------------------------------------------- TF-op layers
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

__all__ = ["DERIVED", "MASK_LOWERED", "l2_normalize", "mask_of", "reduce", "reshape",
           "softmax", "trace_masks", "transpose"]
