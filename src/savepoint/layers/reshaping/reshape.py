"""``Reshape``: reshape each sample to ``target_shape`` (one ``-1`` inferred)."""

from __future__ import annotations

import math

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Reshape(Layer):
    """Reshape to ``target_shape`` (batch dimension excluded; one ``-1`` allowed).

    Example:
        >>> import torch
        >>> Reshape((3, -1))(torch.ones(2, 12)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, target_shape: tuple, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ConfigError(f"Reshape expected at most one -1 in target_shape. Received: "
                              f"{self.target_shape}.")

    def call(self, inputs):
        try:
            return inputs.reshape((inputs.shape[0],) + self.target_shape)
        except RuntimeError:
            raise ShapeError(
                f"Layer \"{self.name}\" cannot reshape input of shape {tuple(inputs.shape)} to "
                f"target_shape {self.target_shape}: the element counts differ.") from None

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 in self.target_shape:
            if any(d is None for d in rest):
                return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
            known = math.prod(d for d in self.target_shape if d != -1)
            total = math.prod(rest)
            return (input_shape[0],) + tuple(total // known if d == -1 else d
                                             for d in self.target_shape)
        return (input_shape[0],) + self.target_shape

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


__all__ = ["Reshape"]
