"""Lowerings of the attention layers: EinsumDense (any two-operand equation as Transpose,
Reshape and MatMul/BatchMatMulV2), MultiHeadAttention, Attention and AdditiveAttention.

No Einsum op is emitted: TFLite has no builtin for it, and the equations dense layers use are
matrix products of a transposed, reshaped input. MultiHeadAttention takes any
``attention_axes`` (laid out as Keras lays out its scores), ``attention_mask`` (rank 3),
``use_causal_mask``, ``return_attention_scores`` and the Keras masks of its query, value and key
(from Masking layers); the dense attentions take ``use_scale``, both score modes, ``causal``
or ``use_causal_mask``, ``return_attention_scores`` and masks. Masks are added to the logits
as Keras 2 does (``-1e9`` where a position is masked).

Example:
    >>> import savepoint as keras
    >>> x = keras.Input((4, 6))
    >>> m = keras.Model(x, keras.layers.MultiHeadAttention(2, 3)(x, x))
    >>> from savepoint.exports.lowering import lower_model
    >>> ops = [n.op for n in lower_model(m).function.nodes]
    >>> ops.count("BatchMatMulV2"), ops.count("MatMul"), "Einsum" in ops
    (2, 4, False)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.layers import (T, _activation_name, _refuse, _variables,
                                               activate, lowers)
from savepoint.exports.lowering.misc import mask_of, reduce, reshape, transpose
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_FLOAT, DT_INT32

BIG = 1e9  # Keras 2's large negative for float32 logits


# ----------------------------------------------------------------------------- einsum
def einsum(b: FunctionBuilder, layer: Any, equation: str, x: str, x_shape: tuple, kernel: str,
           kernel_shape: tuple) -> str:
    """``einsum(equation, x, kernel)`` for an input with a dynamic batch and a static kernel:
    x to ``[shared..., free, contracted]``, the kernel to ``[shared..., contracted, free]``, one
    matrix product, then the output axes in the equation's order."""
    lhs, out = equation.replace(" ", "").split("->")
    xi, ki = lhs.split(",")
    if "." in equation or len(set(xi)) != len(xi) or len(set(ki)) != len(ki) or \
            len(set(out)) != len(out) or any(c not in xi + ki for c in out) or \
            any(c not in ki + out for c in xi):
        raise _refuse(layer, f"an einsum equation without ellipses, repeated or summed-out "
                             f"input axes (received {equation!r})")
    size = {**{c: d for c, d in zip(ki, kernel_shape)}, **{c: d for c, d in zip(xi, x_shape)}}
    if any(size[c] is None for c in xi[1:]) or any(c in ki for c in xi[:1]):
        raise _refuse(layer, f"a static input shape besides the batch (received {x_shape})")
    shared = [c for c in xi if c in ki and c in out]
    summed = [c for c in xi if c in ki and c not in out]
    free_x = [c for c in xi if c not in ki]
    free_k = [c for c in ki if c not in xi]
    prod = lambda letters: int(np.prod([size[c] for c in letters], dtype=np.int64))  # noqa: E731
    x = transpose(b, x, [xi.index(c) for c in shared + free_x + summed])
    k = transpose(b, kernel, [ki.index(c) for c in shared + summed + free_k])
    if not shared:  # a plain matrix product; reshapes only where the ranks differ from 2
        x = x if len(free_x) == 1 and len(summed) == 1 else reshape(b, x, [None, prod(summed)])
        k = k if len(summed) == 1 and len(free_k) == 1 else \
            reshape(b, k, [prod(summed), prod(free_k)])
        y = b.op("MatMul", [x, k], T=T)
        if len(free_x) == 1 and len(free_k) == 1:
            return transpose(b, y, [(free_x + free_k).index(c) for c in out])
    else:
        lead = [size[c] for c in shared]
        x = reshape(b, x, lead + [-1, prod(summed)])
        y = b.op("BatchMatMulV2", [x, reshape(b, k, lead + [prod(summed), prod(free_k)])],
                 T=T)
    y = reshape(b, y, [size[c] for c in shared + free_x + free_k])
    return transpose(b, y, [(shared + free_x + free_k).index(c) for c in out])


def _einsum_dense(b: FunctionBuilder, layer: Any, x: str, x_shape: tuple) -> str:
    """The projection of one EinsumDense: einsum, the bias (already shaped to broadcast)."""
    v = _variables(layer)
    y = einsum(b, layer, layer.equation, x, tuple(x_shape), b.variable(v["kernel"]),
               tuple(v["kernel"].shape))
    if "bias" in v:
        y = b.op("AddV2", [y, b.variable(v["bias"])], T=T)
    return y


@lowers("EinsumDense")
def _einsum_dense_layer(b, layer, xs, shapes, outs):
    return [activate(b, _activation_name(layer), _einsum_dense(b, layer, xs[0], shapes[0]),
                     layer)]


# ----------------------------------------------------------------------------- masks
def _keep(b: FunctionBuilder, parts: list[str]) -> str | None:
    """The product (logical AND) of float keep-masks that broadcast together."""
    keep = None
    for part in parts:
        keep = part if keep is None else b.op("Mul", [keep, part], T=T)
    return keep


def _expand(b: FunctionBuilder, x: str, axis: int) -> str:
    return b.op("ExpandDims", [x, b.const(np.asarray(axis, np.int32))], T=T, Tdim=DT_INT32)


def _causal(b: FunctionBuilder, steps: int, sources: int) -> str:
    return b.const(np.tril(np.ones((1, steps, sources), np.float32)))


def _masked(b: FunctionBuilder, logits: str, keep: str | None) -> str:
    """Keras 2's additive mask: ``logits - 1e9 * (1 - keep)``."""
    if keep is None:
        return logits
    drop = b.op("Sub", [b.scalar(1.0), keep], T=T)
    return b.op("Sub", [logits, b.op("Mul", [drop, b.scalar(BIG)], T=T)], T=T)


def _float_mask(b: FunctionBuilder, edge: str, dtype: str) -> str:
    """An attention_mask input as Keras reads it (any non-zero attends) in 1.0 / 0.0."""
    if dtype != "float32":
        from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for
        edge = b.op("Cast", [edge], SrcT=tf_enum_for(dtype), DstT=DT_FLOAT)
    return b.op("Cast", [b.op("NotEqual", [edge, b.scalar(0.0)], T=T)], SrcT=DT_BOOL,
                DstT=DT_FLOAT)


# ----------------------------------------------------------------------------- MHA
def _mha_arguments(b: FunctionBuilder, layer: Any, xs: list) -> dict:
    node = b.node
    edge = {id(t): e for t, e in zip(node.input_tensors, xs)}
    kwargs = dict(node.kwargs)
    query = node.args[0] if node.args else kwargs.pop("query", kwargs.get("inputs"))
    value = kwargs.get("value", node.args[1] if len(node.args) > 1 else None)
    key = kwargs.get("key", node.args[2] if len(node.args) > 2 else None)
    key = value if key is None else key
    return {"edge": edge, "query": query, "value": value, "key": key,
            "attention_mask": kwargs.get("attention_mask"),
            "scores": bool(kwargs.get("return_attention_scores", False)),
            "causal": bool(kwargs.get("use_causal_mask", False))}


def _mha_keep(b: FunctionBuilder, layer: Any, a: dict) -> str | None:
    """The keep-mask of the logits ``[batch or 1, 1, T, S]`` (rank-3 inputs), merged as
    tf.keras 2's ``_compute_attention_mask`` does."""
    q, v, k = a["query"], a["value"], a["key"]
    parts = []
    masks = [mask_of(b, q, layer), mask_of(b, v, layer),
             mask_of(b, k, layer) if k is not v else None]
    if any(m is not None for m in masks) or a["causal"] or a["attention_mask"] is not None:
        if len(q.shape) != 3:
            raise _refuse(layer, f"masks on rank-3 inputs (batch, steps, features) only "
                                 f"(received a query of shape {q.shape})")
    if masks[0] is not None:
        parts.append(_expand(b, masks[0], -1))
    parts += [_expand(b, m, 1) for m in masks[1:] if m is not None]
    if a["causal"]:
        parts.append(_causal(b, int(q.shape[1]), int(v.shape[1])))
    mask = a["attention_mask"]
    if mask is not None:
        if not hasattr(mask, "shape") or id(mask) not in a["edge"]:
            raise _refuse(layer, "an attention_mask tensor of the graph")
        if len(mask.shape) != 3:
            raise _refuse(layer, f"an attention_mask of shape (batch, T, S) (received "
                                 f"{mask.shape})")
        parts.append(_float_mask(b, a["edge"][id(mask)], mask.dtype))
    keep = _keep(b, parts)
    return None if keep is None else _expand(b, keep, 1)


def _layout(layer: Any, q_shape: tuple, k_shape: tuple) -> dict:
    """How ``attention_axes`` split the axes between the batch and the features, as Keras lays
    out its scores: ``(batch, *other axes, heads, *query attention axes, *key ones)``."""
    n = len(q_shape) - 2
    axes = [a - 1 for a in layer.attention_axes]
    other = [i for i in range(n) if i not in axes]
    return {"perm": [0] + [1 + i for i in other] + [1 + n] + [1 + i for i in axes] + [2 + n],
            "others": [q_shape[1 + i] for i in other], "q": [q_shape[1 + i] for i in axes],
            "k": [k_shape[1 + i] for i in axes]}


def _size(dims: list) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _heads(b: FunctionBuilder, dense: Any, x: str, shape: tuple, dim: int, heads: int,
           layout: dict, side: str) -> str:
    """Project with ``dense`` (``[batch, *axes, heads, dim]``), then
    ``[batch * other axes, heads, attention positions, dim]``."""
    y = transpose(b, _einsum_dense(b, dense, x, shape), layout["perm"])
    if not layout["others"] and len(layout[side]) == 1:
        return y  # already [batch, heads, steps, dim]
    return reshape(b, y, [None, heads, _size(layout[side]), dim])


@lowers("MultiHeadAttention")
def _mha(b, layer, xs, shapes, outs):
    a = _mha_arguments(b, layer, xs)
    q_t, v_t, k_t = a["query"], a["value"], a["key"]
    if layer.softmax_robust_masking:
        raise _refuse(layer, "softmax_robust_masking False")
    heads, kd, vd = layer.num_heads, layer.key_dim, layer.value_dim
    keep = _mha_keep(b, layer, a)
    edge, layout = a["edge"], _layout(layer, q_t.shape, k_t.shape)
    q = _heads(b, layer.query_dense, edge[id(q_t)], q_t.shape, kd, heads, layout, "q")
    k = _heads(b, layer.key_dense, edge[id(k_t)], k_t.shape, kd, heads, layout, "k")
    v = _heads(b, layer.value_dense, edge[id(v_t)], v_t.shape, vd, heads, layout, "k")
    q = b.op("Mul", [q, b.scalar(1.0 / math.sqrt(kd))], T=T)
    logits = _masked(b, b.op("BatchMatMulV2", [q, k], T=T, adj_y=True), keep)
    weights = b.op("Softmax", [logits], T=T)
    context = b.op("BatchMatMulV2", [weights, v], T=T)  # [batch * others, heads, T, vd]
    if layout["others"] or len(layout["q"]) != 1:
        context = reshape(b, context, [None, *layout["others"], heads, *layout["q"], vd])
    inverse = sorted(range(len(layout["perm"])), key=layout["perm"].__getitem__)
    out = _einsum_dense(b, layer.output_dense, transpose(b, context, inverse),
                        (None, *q_t.shape[1:-1], heads, vd))
    if not a["scores"]:
        return [out]
    return [out, reshape(b, weights, [None, *layout["others"], heads, *layout["q"],
                                      *layout["k"]])]


# ----------------------------------------------------------------------------- dense attention
def _pairwise(b: FunctionBuilder, q: str, k: str) -> str:
    """``q[..., :, None, :] + k[..., None, :, :]``: ``[batch, T, S, dim]``."""
    return b.op("AddV2", [_expand(b, q, -2), _expand(b, k, -3)], T=T)


def _scores(b: FunctionBuilder, layer: Any, q: str, k: str) -> str:
    v = _variables(layer)
    name = type(layer).__name__
    if name == "Attention" and layer.score_mode == "dot":
        scores = b.op("BatchMatMulV2", [q, k], T=T, adj_y=True)
        return b.op("Mul", [scores, b.variable(v["scale"])], T=T) if layer.use_scale \
            else scores
    summed = _pairwise(b, q, k)
    if name == "Attention":  # concat: weight * sum(tanh(scale * (q + k)))
        if layer.use_scale:
            summed = b.op("Mul", [b.variable(v["scale"]), summed], T=T)
        total = reduce(b, "Sum", b.op("Tanh", [summed], T=T), [3], keep=False)
        return b.op("Mul", [b.variable(v["concat_score_weight"]), total], T=T)
    summed = b.op("Tanh", [summed], T=T)  # additive: sum(scale * tanh(q + k))
    if layer.use_scale:
        summed = b.op("Mul", [b.variable(v["scale"]), summed], T=T)
    return reduce(b, "Sum", summed, [3], keep=False)


@lowers("Attention", "AdditiveAttention")
def _dense_attention(b, layer, xs, shapes, outs):
    node = b.node
    inputs = node.args[0] if node.args else node.kwargs.get("inputs")
    kwargs = node.kwargs
    if kwargs.get("mask") is not None:
        raise _refuse(layer, "masks from Masking layers, not an explicit mask= argument")
    if any(len(s) != 3 for s in shapes):
        raise _refuse(layer, f"rank-3 inputs (batch, steps, features) (received {shapes})")
    q, v = xs[0], xs[1]
    k = xs[2] if len(xs) > 2 else v
    scores = _scores(b, layer, q, k)
    parts = []
    v_mask = mask_of(b, inputs[1], layer)
    if v_mask is not None:
        parts.append(_expand(b, v_mask, -2))
    if layer.causal or kwargs.get("use_causal_mask"):
        parts.append(_causal(b, int(shapes[0][1]), int(shapes[1][1])))
    weights = b.op("Softmax", [_masked(b, scores, _keep(b, parts))], T=T)
    result = b.op("BatchMatMulV2", [weights, v], T=T)
    q_mask = mask_of(b, inputs[0], layer)
    if q_mask is not None:
        result = b.op("Mul", [result, _expand(b, q_mask, -1)], T=T)
    return [result, weights] if kwargs.get("return_attention_scores") else [result]


__all__ = ["einsum"]
