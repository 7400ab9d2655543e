"""``Permute``: reorder the non-batch axes of the input (``dims`` is 1-based, as in Keras)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Permute(Layer):
    """Output axis ``i + 1`` is input axis ``dims[i]``; the batch axis stays first.

    Example:
        >>> Permute((2, 1))(torch.zeros(4, 10, 64)).shape
        torch.Size([4, 64, 10])
    """

    def __init__(self, dims: Any, **kwargs: Any):
        super().__init__(**kwargs)
        dims = list(dims) if isinstance(dims, (list, tuple)) else dims
        if not isinstance(dims, list) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ConfigError(f"Permute expected `dims` to be a permutation of 1..n (axis 0 is "
                              f"the batch). Received: dims={dims!r}. Fix: pass e.g. "
                              f"dims=(2, 1).")
        self.dims = tuple(int(d) for d in dims)

    def _check_rank(self, rank: int, shape: tuple) -> None:
        if rank != len(self.dims) + 1:
            raise ShapeError(f"Layer \"{self.name}\" (Permute) expected inputs of rank "
                             f"{len(self.dims) + 1} for dims={self.dims}. Received input "
                             f"shape {tuple(shape)}.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_rank(inputs.dim(), inputs.shape)
        return inputs.permute((0,) + self.dims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(len(input_shape), input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}
