"""Element-wise merge layers: Add, Subtract, Multiply, Average, Maximum and Minimum."""

from __future__ import annotations

import torch

from savepoint.layers.merging.base_merge import _Merge
from savepoint.serialization import builtin


@builtin("layers", "add")
class Add(_Merge):
    """Element-wise sum of a list of tensors (dimensions of 1 broadcast, as in Keras).

    Example:
        >>> Add()([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def _merge(self, tensors: list) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out


@builtin("layers")
class Subtract(_Merge):
    """``inputs[0] - inputs[1]``; exactly two inputs.

    Example:
        >>> Subtract()([torch.ones(1, 2), torch.ones(1, 2)]).tolist()
        [[0.0, 0.0]]
    """

    _max_inputs = 2

    def _merge(self, tensors: list) -> torch.Tensor:
        return tensors[0] - tensors[1]


@builtin("layers")
class Multiply(_Merge):
    """Element-wise product of a list of tensors.

    Example:
        >>> Multiply()([torch.full((1, 2), 2.0), torch.full((1, 2), 3.0)]).tolist()
        [[6.0, 6.0]]
    """

    def _merge(self, tensors: list) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out * t
        return out


@builtin("layers")
class Average(_Merge):
    """Element-wise mean of a list of tensors (their sum divided by their count, as Keras).

    Example:
        >>> Average()([torch.zeros(1, 2), torch.full((1, 2), 2.0)]).tolist()
        [[1.0, 1.0]]
    """

    def _merge(self, tensors: list) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out / len(tensors)


@builtin("layers")
class Maximum(_Merge):
    """Element-wise maximum of a list of tensors.

    Example:
        >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    def _merge(self, tensors: list) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = torch.maximum(out, t)
        return out


@builtin("layers")
class Minimum(_Merge):
    """Element-wise minimum of a list of tensors.

    Example:
        >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    def _merge(self, tensors: list) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = torch.minimum(out, t)
        return out


__all__ = ["Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract"]
