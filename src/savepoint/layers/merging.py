"""Merge layers called on a list of tensors: ``Concatenate`` (along an axis) and ``Add``."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.saving.serialization import builtin


def _shape_list(shapes: list) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class _Merge(Layer):
    """Shared checks: a merge layer takes a list of at least two tensors."""

    def _check_list(self, inputs: Any) -> list:
        single = not isinstance(inputs, (list, tuple)) or any(
            s is None or isinstance(s, int) for s in inputs)
        if single or len(inputs) < 2:
            if isinstance(inputs, torch.Tensor):
                got = f"a single tensor of shape {tuple(inputs.shape)}"
            elif single and isinstance(inputs, (list, tuple)):
                got = f"a single input of shape {tuple(inputs)}"
            else:
                got = f"{len(inputs)} input(s)" if not single else type(inputs).__name__
            raise ConfigError(f"Layer \"{self.name}\" ({type(self).__name__}) should be called "
                              f"on a list of at least 2 inputs. Received: {got}. Pass e.g. "
                              f"{type(self).__name__}()([x1, x2]).")
        return list(inputs)

    def build(self, input_shape: Any) -> None:
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True


@builtin("layers", "concatenate")
class Concatenate(_Merge):
    """Join tensors along ``axis``; every other dimension must match.

    Example:
        >>> Concatenate()([torch.ones(2, 3), torch.zeros(2, 1)]).shape
        torch.Size([2, 4])
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"Concatenate expected `axis` to be an int. Received: {axis!r}.")
        self.axis = axis

    def _mismatch(self, shapes: list) -> ShapeError:
        return ShapeError(
            f"Layer \"{self.name}\" (Concatenate) requires inputs with matching shapes except "
            f"for the concatenation axis {self.axis}. Received: input_shape="
            f"{_shape_list(shapes)}. Reshape the inputs so only axis {self.axis} differs.")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = [tuple(s) for s in self._check_list(input_shape)]
        rank = len(shapes[0])
        axis = self.axis + rank if self.axis < 0 else self.axis
        if any(len(s) != rank for s in shapes) or not 0 <= axis < rank:
            raise self._mismatch(shapes)
        out = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is None or b is None:
                    out[i] = a if b is None else b
                elif a != b:
                    raise self._mismatch(shapes)
        return tuple(out)

    def call(self, inputs: list) -> torch.Tensor:
        tensors = self._check_list(inputs)
        self.compute_output_shape([tuple(t.shape) for t in tensors])
        return torch.cat(tensors, dim=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


@builtin("layers", "add")
class Add(_Merge):
    """Element-wise sum of a list of tensors (dimensions of 1 broadcast, as in Keras).

    Example:
        >>> Add()([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = [tuple(s) for s in self._check_list(input_shape)]
        out = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != len(out):
                raise self._mismatch(shapes)
            for i, (a, b) in enumerate(zip(out, shape)):
                if a == 1 or a is None and b not in (None, 1):
                    out[i] = b
                elif b not in (1, None) and a != b:
                    raise self._mismatch(shapes)
        return tuple(out)

    def _mismatch(self, shapes: list) -> ShapeError:
        return ShapeError(
            f"Layer \"{self.name}\" (Add) received inputs with incompatible shapes: "
            f"{_shape_list(shapes)}. Expected equal shapes (dimensions of 1 broadcast).")

    def call(self, inputs: list) -> torch.Tensor:
        tensors = self._check_list(inputs)
        self.compute_output_shape([tuple(t.shape) for t in tensors])
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out


__all__ = ["Add", "Concatenate"]
