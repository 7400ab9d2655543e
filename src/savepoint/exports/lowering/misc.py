"""Lowerings of the remaining non-spatial layers, and where Keras masks flow in the graph.

Permute, RepeatVector, Dot, PReLU, ThresholdedReLU, Softmax over any axes, UnitNormalization,
GroupNormalization and Masking become plain TF ops (the TF-op layers: ``tf_ops``); a Lambda
layer (Python code) is refused by name. ``trace_masks`` follows the masks of Masking
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
    if recurrent:  # the mask follows the sequence (both of Bidirectional's, unmerged)
        count = 2 if name == "Bidirectional" and layer.merge_mode is None else 1
        sequence = ins[0] if getattr(layer, "return_sequences", True) else None
        return [sequence] * count + [None] * (n_out - count)
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
    source = b.masks.get(id(tensor))
    if source is None:
        return None
    edges = b.mask_edges
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
    b.mask_edges[id(b.node.output_tensors[0])] = (keep, None)
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
    b.mask_edges[id(b.node.output_tensors[0])] = (None, mask)
    if dtype not in (DT_INT32, DT_INT64):  # as Keras: float ids are cast to int32
        indices, dtype = b.op("Cast", [indices], SrcT=dtype, DstT=DT_INT32), DT_INT32
    table = b.variable(_variables(layer)["embeddings"])
    return [b.op("GatherV2", [table, indices, b.const(np.asarray(0, np.int32))], Tparams=T,
                 Tindices=dtype, Taxis=DT_INT32)]


@lowers("GlobalAveragePooling1D")
def _global_average_1d(b, layer, xs, shapes, outs):
    """spatial's mean; with a mask, ``sum(x * mask) / sum(mask)`` over the steps, as Keras."""
    node = getattr(b, "node", None)  # None: a caller probing the lowering outside a graph
    mask = mask_of(b, node.input_tensors[0], layer) if node is not None else None
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



__all__ = ["DERIVED", "MASK_LOWERED", "l2_normalize", "mask_of", "reduce", "reshape",
           "softmax", "trace_masks", "transpose"]
