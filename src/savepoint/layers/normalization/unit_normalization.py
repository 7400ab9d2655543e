"""``UnitNormalization``: scale each sample to unit L2 norm over ``axis``
(``tf.math.l2_normalize``)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class UnitNormalization(Layer):
    """``x / sqrt(max(sum(x ** 2, axis), 1e-12))``.

    Example:
        >>> UnitNormalization()(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and axis and all(
                isinstance(a, int) and not isinstance(a, bool) for a in axis):
            axis = list(axis)
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"UnitNormalization expected `axis` to be an int or a list of "
                              f"ints. Received: axis={axis!r}. Fix: pass e.g. axis=-1.")
        self.axis = axis

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        for a in self.axis if isinstance(self.axis, list) else [self.axis]:
            if not -rank <= a < rank or a % rank == 0:
                raise ShapeError(f"Layer \"{self.name}\" (UnitNormalization) got axis {a} for "
                                 f"inputs of rank {rank}. Expected axes in 1..{rank - 1} or "
                                 f"-{rank - 1}..-1 (axis 0 is the batch).")
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        square_sum = torch.sum(inputs * inputs, dim=self.axis, keepdim=True)
        return inputs * torch.rsqrt(torch.clamp(square_sum, min=1e-12))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


__all__ = ["UnitNormalization"]
