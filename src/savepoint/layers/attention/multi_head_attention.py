"""``MultiHeadAttention``: Keras's multi-head attention with its EinsumDense weight layout
(``query``/``key``/``value`` kernels ``(dim, heads, key_dim)``, output kernel
``(heads, value_dim, out)``), computed by ``scaled_dot_product_attention``."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.activation.softmax import large_negative
from savepoint.layers.base import Layer
from savepoint.layers.core.einsum_dense import EinsumDense
from savepoint.layers.symbolic import is_symbolic
from savepoint.layers.weight_args import kernel_bias_args, set_kernel_bias_args, weight_args_config
from savepoint.serialization import builtin

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Keras 3 arguments savepoint takes only at their default (dropped from Keras 3 configs).
_KERAS3_DEFAULTS = {"use_gate": False, "sliding_window": None, "flash_attention": None}


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"MultiHeadAttention expected `{name}` to be a positive int. Received: "
                          f"{name}={value!r}.")
    return value


def _shape(x: Any) -> tuple | None:
    return None if x is None else tuple(x.shape)


@builtin("layers")
class MultiHeadAttention(Layer):
    """Attention of ``query`` over ``value`` (and ``key``, default ``value``) with ``num_heads``
    heads: ``call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=3)
        >>> out, scores = mha(torch.ones(1, 4, 6), torch.ones(1, 5, 6),
        ...                   return_attention_scores=True)
        >>> tuple(out.shape), tuple(scores.shape), tuple(mha.query_dense.kernel.shape)
        ((1, 4, 6), (1, 2, 4, 5), (6, 2, 3))
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, softmax_robust_masking: bool = False,
                 query_shape: Any = None, key_shape: Any = None, value_shape: Any = None,
                 seed: int | None = None, **kwargs: Any):
        for key, default in _KERAS3_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ConfigError(f"MultiHeadAttention expected {key}={default!r}; other values "
                                  f"are not supported. Fix: remove {key} from the config.")
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ConfigError(f"MultiHeadAttention expected `dropout` in [0, 1). Received: "
                              f"dropout={dropout!r}.")
        self.num_heads = _positive_int("num_heads", num_heads)
        self.key_dim = _positive_int("key_dim", key_dim)
        self.value_dim = _positive_int("value_dim", value_dim) if value_dim else key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = list(output_shape)
            if len(output_shape) != 1:
                raise ConfigError(f"MultiHeadAttention supports an int `output_shape` (or one "
                                  f"dimension). Received: output_shape={output_shape!r}.")
            output_shape = output_shape[0]
        self.output_shape_arg = output_shape
        if isinstance(attention_axes, int):
            attention_axes = [attention_axes]
        self.attention_axes = None if attention_axes is None else list(attention_axes)
        self.softmax_robust_masking = bool(softmax_robust_masking)
        set_kernel_bias_args(self, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)
        self._shapes: tuple | None = None
        if query_shape is not None and value_shape is not None:
            self._build_from_signature(tuple(query_shape), tuple(value_shape),
                                       None if key_shape is None else tuple(key_shape))

    # ----- building ---------------------------------------------------------------------------
    def _dense(self, name: str, equation: str, output_shape: list, bias_axes: str) -> EinsumDense:
        return EinsumDense(equation, output_shape, bias_axes=bias_axes if self.use_bias else None,
                           **kernel_bias_args(self), name=name, dtype=self.dtype)

    def _build_from_signature(self, query: tuple, value: tuple, key: tuple | None) -> None:
        key = value if key is None else key
        rank = len(query)
        if rank < 3 or len(value) != rank or len(key) != rank:
            raise ShapeError(f"Layer \"{self.name}\" (MultiHeadAttention) expected query, value "
                             f"and key of the same rank >= 3. Received shapes {query}, {value}, "
                             f"{key}.")
        lead = list(range(1, rank - 1))
        axes = sorted({a % rank for a in (self.attention_axes or lead)})
        if not axes or any(a not in lead for a in axes):
            raise ConfigError(f"MultiHeadAttention expected `attention_axes` among the axes "
                              f"between the batch and the features ({lead}). Received: "
                              f"attention_axes={self.attention_axes}.")
        self.attention_axes = axes
        free = _LETTERS[:rank - 1]
        proj = f"{free}{_LETTERS[rank - 1]},{_LETTERS[rank - 1]}yz->{free}yz"
        lead = [None] * (rank - 2)
        self.query_dense = self._dense("query", proj, lead + [self.num_heads, self.key_dim],
                                       "yz")
        self.key_dense = self._dense("key", proj, lead + [self.num_heads, self.key_dim], "yz")
        self.value_dense = self._dense("value", proj,
                                       lead + [self.num_heads, self.value_dim], "yz")
        out_dim = self.output_shape_arg or query[-1]
        self.output_dense = self._dense("attention_output", f"{free}yz,yzw->{free}w",
                                        lead + [out_dim], "w")
        self.query_dense.build(query)
        self.key_dense.build(key)
        self.value_dense.build(value)
        self.output_dense.build(query[:-1] + (self.num_heads, self.value_dim))
        for sub in (self.query_dense, self.key_dense, self.value_dense, self.output_dense):
            sub.built = True
            for var in sub._variables:  # tf.keras names them "<mha>/query/kernel"
                var.path = f"{self.name}/{sub.name}/{var.name}"
        self._shapes = (query, value, key)
        self.built = True

    def build(self, input_shape: Any) -> None:
        if self._shapes is None:
            raise ShapeError(f"Layer \"{self.name}\" (MultiHeadAttention) builds from its call "
                             f"signature: call it as mha(query, value). Received only "
                             f"input_shape={input_shape}.")

    def _trackable_children(self) -> list[tuple[str, Any]]:
        # tf.keras's checkpoint names are the private attributes (_query_dense ...); Keras 3's
        # .weights.h5 paths are the public ones this layer registers.
        return [(f"_{name}" if name.endswith("_dense") else name, child)
                for name, child in super()._trackable_children()]

    # ----- calling ----------------------------------------------------------------------------
    def __call__(self, query: Any = None, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        query = kwargs.pop("inputs", query)
        if value is None:
            raise ConfigError(f"Layer \"{self.name}\" (MultiHeadAttention) expected a `value` "
                              f"tensor. Received: value=None. Fix: call mha(query, value).")
        if not self.built:
            q, v = self._convert_inputs(query), self._convert_inputs(value)
            k = None if key is None else self._convert_inputs(key)
            self._build_from_signature(_shape(q), _shape(v), _shape(k))
        if not is_symbolic(query):
            value = self._convert_inputs(value)
            key = None if key is None else self._convert_inputs(key)
        # The value and key travel as keyword arguments, as tf.keras 2 records them.
        if key is not None:
            kwargs["key"] = key
        return super().__call__(query, value=value, **kwargs)

    def call(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor | None = None,
             attention_mask: Any = None, return_attention_scores: bool = False,
             training: bool = False, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        layout = self._layout(query, key)
        mask = self._attention_mask(query, value, key, attention_mask, use_causal_mask, layout)
        q = self._split(self.query_dense, query, self.key_dim, layout)
        k = self._split(self.key_dense, key, self.key_dim, layout)
        v = self._split(self.value_dense, value, self.value_dim, layout)
        dropout = self.dropout if training else 0.0
        scores = None
        causal_only = use_causal_mask and attention_mask is None and \
            not self._has_keras_masks(query, value, key)
        if return_attention_scores or (mask is not None and not causal_only):
            # An explicit softmax: Keras's additive -1e9 mask, exactly (SDPA's fused backward
            # differs from it on fully masked rows).
            logits = torch.matmul(q * (1.0 / math.sqrt(self.key_dim)), k.transpose(-1, -2))
            if mask is not None:
                if self.softmax_robust_masking:
                    logits = torch.where(mask, logits, large_negative(logits.dtype))
                else:
                    logits = logits + (~mask).to(logits.dtype) * large_negative(logits.dtype)
            scores = torch.softmax(logits, dim=-1)
            weights = F.dropout(scores, dropout, training=True) if dropout else scores
            out = torch.matmul(weights, v)
        else:  # no mask, or only the causal one (no row is fully masked): the fused kernel
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout,
                                                 is_causal=causal_only)
        out = self._merge(out, layout)
        kernel = self.output_dense.kernel.reshape(self.num_heads * self.value_dim, -1)
        out = out @ kernel
        if self.use_bias:
            out = out + self.output_dense.bias
        if return_attention_scores:
            batch, others, a_q, a_k = layout["batch"], layout["others"], layout["a_q"], \
                layout["a_k"]
            return out, scores.reshape((batch,) + others + (self.num_heads,) + a_q + a_k)
        return out

    def _layout(self, query: torch.Tensor, key: torch.Tensor) -> dict:
        """How the attention axes split the inputs: Keras's scores are laid out as
        ``(batch, *other axes, heads, *query attention axes, *key attention axes)``."""
        lead_q, lead_k = tuple(query.shape[1:-1]), tuple(key.shape[1:-1])
        axes = [a - 1 for a in self.attention_axes]
        other = [i for i in range(len(lead_q)) if i not in axes]
        if [lead_q[i] for i in other] != [lead_k[i] for i in other]:
            raise ShapeError(f"Layer \"{self.name}\" (MultiHeadAttention) needs query and key "
                             f"to agree on the axes outside attention_axes="
                             f"{self.attention_axes}. Received shapes {tuple(query.shape)} and "
                             f"{tuple(key.shape)}.")
        n = len(lead_q)
        perm = [0] + [1 + i for i in other] + [1 + n] + [1 + i for i in axes] + [2 + n]
        return {"batch": query.shape[0], "lead_q": lead_q, "perm": perm,
                "others": tuple(lead_q[i] for i in other),
                "a_q": tuple(lead_q[i] for i in axes), "a_k": tuple(lead_k[i] for i in axes)}

    def _split(self, dense: EinsumDense, x: torch.Tensor, dim: int, layout: dict
               ) -> torch.Tensor:
        """Project, then lay out as ``(batch * others, heads, attention positions, dim)``."""
        p = self._project(dense, x).reshape(tuple(x.shape[:-1]) + (self.num_heads, dim))
        p = p.permute(layout["perm"])
        return p.reshape(-1, self.num_heads, math.prod(p.shape[2 + len(layout["others"]):-1]),
                         dim)

    def _merge(self, out: torch.Tensor, layout: dict) -> torch.Tensor:
        """The inverse of ``_split`` for the attention output, heads concatenated last."""
        shape = (layout["batch"],) + layout["others"] + (self.num_heads,) + layout["a_q"] + \
            (self.value_dim,)
        inverse = sorted(range(len(layout["perm"])), key=layout["perm"].__getitem__)
        out = out.reshape(shape).permute(inverse)
        return out.reshape((layout["batch"],) + layout["lead_q"] +
                           (self.num_heads * self.value_dim,))

    def _project(self, dense: EinsumDense, x: torch.Tensor) -> torch.Tensor:
        kernel = dense.kernel.reshape(dense.kernel.shape[0], -1)
        out = x @ kernel
        if self.use_bias:
            out = out + dense.bias.reshape(-1)
        return out

    @staticmethod
    def _has_keras_masks(*tensors: Any) -> bool:
        return any(getattr(t, "_keras_mask", None) is not None for t in tensors)

    def _attention_mask(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor,
                        attention_mask: Any, use_causal_mask: bool, layout: dict
                        ) -> torch.Tensor | None:
        """A boolean mask (True attends) shaped ``(batch * others or 1, heads or 1, T, S)``,
        merged like tf.keras 2's ``_compute_attention_mask``: Keras masks of query/value/key,
        the causal mask, and ``attention_mask`` broadcast from the heads axis as Keras does."""
        n_axes = len(layout["a_q"])
        rank = 2 + len(layout["others"]) + 2 * n_axes  # Keras's scores rank
        parts = []
        q_mask = getattr(query, "_keras_mask", None)
        v_mask = getattr(value, "_keras_mask", None)
        k_mask = getattr(key, "_keras_mask", None) if key is not value else None
        if (q_mask is not None or v_mask is not None or k_mask is not None or use_causal_mask) \
                and query.dim() != 3:
            raise ConfigError(f"Layer \"{self.name}\" (MultiHeadAttention) supports Keras masks "
                              f"and use_causal_mask on rank-3 inputs (batch, steps, features). "
                              f"Received query shape {tuple(query.shape)}. Fix: pass an "
                              f"attention_mask instead.")
        if q_mask is not None:
            parts.append(q_mask.bool()[:, :, None])
        for m in (v_mask, k_mask):
            if m is not None:
                parts.append(m.bool()[:, None, :])
        if use_causal_mask:
            t, s = query.shape[1], value.shape[1]
            parts.append(torch.ones(t, s, dtype=torch.bool, device=query.device).tril()[None])
        if attention_mask is not None:
            parts.append(torch.as_tensor(attention_mask, device=query.device).bool())
        if not parts:
            return None
        mask = None
        for part in parts:
            while part.dim() < rank:  # Keras inserts the missing axes at the heads position
                part = part.unsqueeze(-2 * n_axes - 1)
            mask = part if mask is None else mask & part
        heads = mask.shape[-2 * n_axes - 1]
        # A batch of 1 (the causal mask) stays 1 and broadcasts; other axes are expanded.
        batch = mask.shape[0] if not layout["others"] else layout["batch"]
        full = (batch,) + layout["others"] + (heads,) + layout["a_q"] + layout["a_k"]
        return mask.expand(full).reshape(-1, heads, math.prod(layout["a_q"]),
                                         math.prod(layout["a_k"]))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        query = tuple(input_shape)
        return query[:-1] + (self.output_shape_arg or query[-1],)

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        if not kwargs.get("return_attention_scores"):
            return super()._infer_outputs(args, kwargs)
        return self._trial_output_shapes_symbolic(args, kwargs)

    def _trial_output_shapes_symbolic(self, args: tuple, kwargs: dict) -> Any:
        from savepoint.layers.base import _shapes_to_tensors
        query, value = args[0], kwargs["value"]
        key = kwargs.get("key", value)
        out = self.compute_output_shape(query.shape)
        q, k = tuple(query.shape), tuple(key.shape)
        others = tuple(q[i] for i in range(1, len(q) - 1) if i not in self.attention_axes)
        scores = (q[0],) + others + (self.num_heads,) + \
            tuple(q[a] for a in self.attention_axes) + tuple(k[a] for a in self.attention_axes)
        return _shapes_to_tensors((out, scores), self.dtype)

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                  "value_dim": self.value_dim, "dropout": self.dropout,
                  "use_bias": self.use_bias, "output_shape": self.output_shape_arg,
                  "attention_axes": self.attention_axes,
                  **weight_args_config(self, ("kernel", "bias"), activity_regularizer=True)}
        shapes = self._shapes or (None, None, None)
        config.update({"query_shape": _listed(shapes[0]), "key_shape": _listed(shapes[2]),
                       "value_shape": _listed(shapes[1]),
                       "softmax_robust_masking": self.softmax_robust_masking})
        return config

    @classmethod
    def from_config(cls, config: dict) -> "MultiHeadAttention":
        return cls(**config)

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        """Keras 3 builds from ``build_config`` and has no robust-masking switch."""
        out = {k: v for k, v in config.items()
               if k not in ("query_shape", "key_shape", "value_shape", "softmax_robust_masking")}
        if config.get("softmax_robust_masking"):
            raise ConfigError("MultiHeadAttention(softmax_robust_masking=True) has no Keras 3 "
                              "equivalent. Fix: save as .h5 or a model directory instead.")
        return {**out, "use_gate": False, "sliding_window": None, "seed": config.get("seed")}

    @staticmethod
    def keras3_config_in(config: dict) -> dict:
        return dict(config)


def _listed(shape: tuple | None) -> list | None:
    return None if shape is None else list(shape)


__all__ = ["MultiHeadAttention"]
