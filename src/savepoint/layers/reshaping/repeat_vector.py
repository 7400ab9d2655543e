"""``RepeatVector``: repeat a ``(batch, features)`` input ``n`` times into
``(batch, n, features)``."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class RepeatVector(Layer):
    """``(batch, f)`` -> ``(batch, n, f)``.

    Example:
        >>> RepeatVector(3)(torch.ones(2, 5)).shape
        torch.Size([2, 3, 5])
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"RepeatVector expected `n` to be a non-negative int. Received: "
                              f"n={n!r}. Fix: pass e.g. n=3.")
        self.n = n

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) != 2:
            raise ShapeError(f"Layer \"{self.name}\" (RepeatVector) expected inputs of rank 2 "
                             f"(batch, features). Received input shape {tuple(shape)}.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_rank(tuple(inputs.shape))
        return inputs.unsqueeze(1).expand(-1, self.n, -1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(tuple(input_shape))
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}
