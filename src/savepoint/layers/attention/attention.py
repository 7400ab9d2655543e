"""``Attention``: Luong-style dot-product attention (``score_mode="dot"``) or concat scores,
with an optional learned scalar ``scale``."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.attention.base_dense_attention import BaseDenseAttention
from savepoint.serialization import builtin


@builtin("layers")
class Attention(BaseDenseAttention):
    """``softmax(query @ key^T [* scale]) @ value`` on ``[query, value]`` or
    ``[query, value, key]``.

    Example:
        >>> Attention()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", **kwargs: Any):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ConfigError(f"Attention expected score_mode 'dot' or 'concat'. Received: "
                              f"score_mode={score_mode!r}.")
        self.use_scale, self.score_mode = bool(use_scale), score_mode

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")
        self.built = True

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale if self.use_scale else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.use_scale:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode}
