"""``LayerNormalization``: normalize each sample over ``axis``, then scale and shift."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.normalization.base_normalization import AxisNormalization
from savepoint.serialization import builtin


@builtin("layers", "layer_normalization")
class LayerNormalization(AxisNormalization):
    """Normalize each sample over ``axis`` (default the last), then scale by gamma, add beta.

    Example:
        >>> out = LayerNormalization()(torch.tensor([[1.0, 2.0, 3.0]]))
        >>> [round(v, 3) for v in out[0].tolist()]
        [-1.224, 0.0, 1.224]
    """

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)

    def build(self, input_shape: tuple) -> None:
        self._build_affine(input_shape)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_input(inputs)
        variance, mean = torch.var_mean(inputs, dim=self.axis, correction=0, keepdim=True)
        return self._affine((inputs - mean) * torch.rsqrt(variance + self.epsilon))

    def get_config(self) -> dict:
        return self._base_config()


__all__ = ["LayerNormalization"]
