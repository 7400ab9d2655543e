"""``Concatenate``: join a list of tensors along ``axis``; every other dimension must match."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.merging.base_merge import _Merge, shape_list
from savepoint.serialization import builtin


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
            f"{shape_list(shapes)}. Reshape the inputs so only axis {self.axis} differs.")

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

    def _merge(self, tensors: list) -> torch.Tensor:
        return torch.cat(tensors, dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras 2's: the masks concatenated along ``axis`` (all-True for unmasked inputs, a
        feature axis added to shorter masks), then reduced over the last axis."""
        if not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        masks = []
        for tensor, m in zip(inputs, mask):
            if m is None:
                m = torch.ones(tensor.shape, dtype=torch.bool, device=tensor.device)
            elif m.dim() < tensor.dim():
                m = m.bool().unsqueeze(-1).expand(tensor.shape)
            masks.append(m.bool())
        return torch.cat(masks, dim=self.axis).all(dim=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


__all__ = ["Concatenate"]
