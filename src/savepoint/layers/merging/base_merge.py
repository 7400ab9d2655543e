"""``_Merge``: what every merge layer shares: a list of at least two inputs, and Keras's
element-wise output shape (equal shapes, dimensions of 1 broadcast)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer


def shape_list(shapes: list) -> str:
    """``[(None, 3), (None, 4)]`` as Keras prints a list of shapes.

    Example:
        >>> shape_list([(None, 3)])
        '[(None, 3)]'
    """
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class _Merge(Layer):
    """Base of the merge layers: checks the list of inputs; element-wise subclasses define
    ``_merge(tensors)``.

    Example:
        >>> class First(_Merge):
        ...     def _merge(self, tensors): return tensors[0]
        >>> First()([torch.ones(1, 2), torch.zeros(1, 2)]).tolist()
        [[1.0, 1.0]]
    """

    _min_inputs = 2
    _max_inputs: int | None = None

    def _check_list(self, inputs: Any) -> list:
        single = not isinstance(inputs, (list, tuple)) or any(
            s is None or isinstance(s, int) for s in inputs)
        count_ok = not single and self._min_inputs <= len(inputs) <= (
            self._max_inputs or len(inputs))
        if not count_ok:
            if isinstance(inputs, torch.Tensor):
                got = f"a single tensor of shape {tuple(inputs.shape)}"
            elif single and isinstance(inputs, (list, tuple)):
                got = f"a single input of shape {tuple(inputs)}"
            else:
                got = f"{len(inputs)} input(s)" if not single else type(inputs).__name__
            want = "exactly 2 inputs" if self._max_inputs == 2 else \
                f"a list of at least {self._min_inputs} inputs"
            raise ConfigError(f"Layer \"{self.name}\" ({type(self).__name__}) should be called "
                              f"on {want}. Received: {got}. Pass e.g. "
                              f"{type(self).__name__}()([x1, x2]).")
        return list(inputs)

    def build(self, input_shape: Any) -> None:
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def _mismatch(self, shapes: list) -> ShapeError:
        return ShapeError(
            f"Layer \"{self.name}\" ({type(self).__name__}) received inputs with incompatible "
            f"shapes: {shape_list(shapes)}. Expected equal shapes (dimensions of 1 broadcast).")

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

    def call(self, inputs: list) -> torch.Tensor:
        tensors = self._check_list(inputs)
        self.compute_output_shape([tuple(t.shape) for t in tensors])
        return self._merge(tensors)

    def _merge(self, tensors: list) -> torch.Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras 2's merge mask: the AND of the inputs' masks (``None`` when none has one)."""
        if not isinstance(mask, (list, tuple)):
            return mask
        masks = [m for m in mask if m is not None]
        if not masks:
            return None
        out = masks[0].bool()
        for m in masks[1:]:
            out = out & m.bool()
        return out


__all__ = ["_Merge", "shape_list"]
