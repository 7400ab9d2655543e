"""``AdditiveAttention``: Bahdanau-style attention, scores ``sum(scale * tanh(q + k))``."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ShapeError
from savepoint.layers.attention.base_dense_attention import BaseDenseAttention
from savepoint.serialization import builtin


@builtin("layers")
class AdditiveAttention(BaseDenseAttention):
    """Additive attention on ``[query, value]`` or ``[query, value, key]``; ``use_scale`` (the
    default) learns a ``scale`` vector over the feature axis.

    Example:
        >>> AdditiveAttention()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, use_scale: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        dim = tuple(input_shape[1])[-1]
        if dim is None:
            raise ShapeError(f"Layer \"{self.name}\" (AdditiveAttention) needs a known feature "
                             f"dimension. Received input shapes {input_shape}.")
        if self.use_scale:
            self.scale = self.add_weight("scale", (dim,), "glorot_uniform")
        self.built = True

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.use_scale:
            summed = self.scale * summed
        return summed.sum(-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale}
