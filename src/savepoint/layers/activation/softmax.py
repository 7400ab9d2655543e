"""``Softmax`` layer: softmax over ``axis`` (an int or several axes), with an optional mask whose
zeros get a large negative score first, as in Keras 2."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


def large_negative(dtype: torch.dtype) -> float:
    """Keras 2's ``_large_compatible_negative``: the most negative float16, else -1e9."""
    return -65504.0 if dtype == torch.float16 else -1e9


@builtin("layers")
class Softmax(Layer):
    """Softmax along ``axis``; ``mask`` (1 keep, 0 drop) removes positions before normalizing.

    Example:
        >>> Softmax()(torch.zeros(1, 2), mask=torch.tensor([[True, False]])).tolist()
        [[1.0, 0.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        ok = isinstance(axis, int) and not isinstance(axis, bool) or (
            isinstance(axis, (list, tuple)) and axis and
            all(isinstance(a, int) and not isinstance(a, bool) for a in axis))
        if not ok:
            raise ConfigError(f"Softmax expected `axis` to be an int or a list of ints. "
                              f"Received: axis={axis!r}. Fix: pass e.g. axis=-1.")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        if mask is not None:
            mask = torch.as_tensor(mask, device=inputs.device)
            inputs = inputs + (1.0 - mask.to(inputs.dtype)) * large_negative(inputs.dtype)
        if isinstance(self.axis, list):
            if len(self.axis) > 1:
                return torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))
            return torch.softmax(inputs, dim=self.axis[0])
        return torch.softmax(inputs, dim=self.axis)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
