"""``BaseDenseAttention``: what Attention and AdditiveAttention share: the ``[query, value, key]``
call, masks, the causal mask, dropout on the weights, and ``return_attention_scores``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer


class BaseDenseAttention(Layer):
    """Subclasses define ``_calculate_scores(query, key)``; this class applies masks and softmax.

    Example:
        >>> class Dot(BaseDenseAttention):
        ...     def _calculate_scores(self, q, k): return q @ k.transpose(-1, -2)
        >>> Dot()([torch.ones(1, 2, 3), torch.ones(1, 4, 3)]).shape
        torch.Size([1, 2, 3])
    """

    def __init__(self, dropout: float = 0.0, seed: int | None = None, causal: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise ConfigError(f"{type(self).__name__} expected `dropout` in [0, 1). Received: "
                              f"dropout={dropout!r}.")
        self.dropout, self.seed, self.causal = float(dropout), seed, bool(causal)

    def _check_inputs(self, inputs: Any) -> list:
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3 or any(
                d is None or isinstance(d, int) for d in inputs):
            if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (list, tuple)):
                got = f"a single {type(inputs).__name__}"
            elif any(d is None or isinstance(d, int) for d in inputs):
                got = f"a single input of shape {tuple(inputs)}"
            else:
                got = f"a list of {len(inputs)} inputs"
            raise ConfigError(f"{type(self).__name__} layer must be called on a list of inputs, "
                              f"namely [query, value] or [query, value, key]. Received: {got}.")
        return list(inputs)

    def build(self, input_shape: Any) -> None:
        self._check_inputs(input_shape)
        self.built = True

    def call(self, inputs: list, mask: Any = None, training: bool = False,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        inputs = self._check_inputs(inputs)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = v_mask = None
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ConfigError(f"{type(self).__name__} expected `mask` as a list "
                                  f"[query_mask, value_mask]. Received: {type(mask).__name__}.")
            q_mask, v_mask = (list(mask) + [None, None])[:2]
        scores = self._calculate_scores(query, key)
        keep = None
        if v_mask is not None:
            keep = torch.as_tensor(v_mask, device=scores.device).bool().unsqueeze(-2)
        if self.causal or use_causal_mask:
            t, s = scores.shape[-2], scores.shape[-1]
            causal = torch.ones(t, s, dtype=torch.bool, device=scores.device).tril()
            keep = causal if keep is None else keep & causal
        if keep is not None:
            # Keras subtracts 1e9 (65504 in float16) where the mask is False.
            big = 65504.0 if scores.dtype == torch.float16 else 1e9
            scores = scores - big * (~keep).to(scores.dtype)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout:
            weights = F.dropout(weights, self.dropout, training=True)
        result = torch.matmul(weights, value)
        if q_mask is not None:
            result = result * torch.as_tensor(q_mask, device=result.device).unsqueeze(-1).to(
                result.dtype)
        if return_attention_scores:
            return result, weights
        return result

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask carries over to the output (as in Keras)."""
        if mask is None or not isinstance(mask, (list, tuple)) or mask[0] is None:
            return None
        return torch.as_tensor(mask[0])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._check_inputs(input_shape)
        return tuple(shapes[0][:-1]) + (shapes[1][-1],)

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        outputs = super()._infer_outputs(args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return outputs
        from savepoint.layers.base import _shapes_to_tensors
        q, v = args[0][0].shape, args[0][1].shape
        return _shapes_to_tensors((outputs.shape, tuple(q[:-1]) + (v[1],)), self.dtype)

    def get_config(self) -> dict:
        config = {**super().get_config(), "dropout": self.dropout}
        if self.causal:  # tf.keras 2's deprecated argument: written only when set
            config["causal"] = True
        return config

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        if config.get("causal"):
            raise ConfigError("causal=True has no Keras 3 equivalent. Fix: pass "
                              "use_causal_mask=True in the call instead.")
        return {**config, "seed": config.get("seed")}
