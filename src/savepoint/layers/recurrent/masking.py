"""``Masking``: mark time steps whose features all equal ``mask_value`` as padding.

Example:
    >>> import torch
    >>> x = torch.tensor([[[1.0], [0.0]]])
    >>> Masking()(x)._keras_mask.tolist()
    [[True, False]]
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Masking(Layer):
    """Zero the masked steps and attach the mask ``any(inputs != mask_value, axis=-1)``.

    Example:
        >>> import torch
        >>> Masking(mask_value=-1.0)(torch.tensor([[[-1.0, -1.0], [2.0, -1.0]]])).tolist()
        [[[-0.0, -0.0], [2.0, -1.0]]]
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ConfigError(f"Masking expected `mask_value` to be a number. Received: "
                              f"mask_value={mask_value!r}.")
        self.mask_value = float(mask_value)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return inputs * keep.to(inputs.dtype)

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor:
        return (torch.as_tensor(inputs) != self.mask_value).any(dim=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
