"""``Dot``: the batched dot product of two tensors along ``axes`` (Keras's ``batch_dot``),
optionally of their L2-normalized forms (cosine similarity)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.merging.base_merge import _Merge, shape_list
from savepoint.serialization import builtin


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@builtin("layers")
class Dot(_Merge):
    """Sum ``x[..., i, ...] * y[..., i, ...]`` over ``axes`` (one int for both inputs, or a pair),
    per sample. Two ``(batch, n)`` inputs give ``(batch, 1)``.

    Example:
        >>> Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 3)]).tolist()
        [[3.0], [3.0]]
        >>> Dot(axes=(2, 2))([torch.ones(1, 2, 4), torch.ones(1, 5, 4)]).shape
        torch.Size([1, 2, 5])
    """

    _max_inputs = 2

    def __init__(self, axes: int | list[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(_is_int(a) for a in axes):
                raise ConfigError(f"Dot expected `axes` to be an int or a list of 2 ints. "
                                  f"Received: axes={axes!r}. Fix: pass e.g. axes=(1, 2).")
            axes = list(axes)
        elif not _is_int(axes):
            raise ConfigError(f"Dot expected `axes` to be an int or a list of 2 ints. Received: "
                              f"axes={axes!r}. Fix: pass e.g. axes=1.")
        self.axes, self.normalize = axes, bool(normalize)

    def _resolve(self, shapes: list) -> list[int]:
        axes = [self.axes, self.axes] if _is_int(self.axes) else self.axes
        resolved = [a % len(s) if a < 0 else a for a, s in zip(axes, shapes)]
        for a, s in zip(resolved, shapes):
            if len(s) < 2 or not 1 <= a < len(s):
                raise ShapeError(f"Layer \"{self.name}\" (Dot) cannot reduce axis {a} of inputs "
                                 f"{shape_list(shapes)}. Expected axes within 1..rank-1 (axis 0 "
                                 f"is the batch).")
        return resolved

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = [tuple(s) for s in self._check_list(input_shape)]
        ax, ay = self._resolve(shapes)
        sx, sy = shapes
        if sx[ax] is not None and sy[ay] is not None and sx[ax] != sy[ay]:
            raise ShapeError(f"Layer \"{self.name}\" (Dot) needs equal sizes along the dot axes. "
                             f"Received: inputs {shape_list(shapes)} with axes {[ax, ay]} "
                             f"(sizes {sx[ax]} and {sy[ay]}). Fix: choose matching axes.")
        out = list(sx[:ax] + sx[ax + 1:]) + list(sy[1:ay] + sy[ay + 1:])
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def _merge(self, tensors: list) -> torch.Tensor:
        x, y = tensors
        ax, ay = self._resolve([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            # tf.math.l2_normalize: x / sqrt(max(sum(x^2), 1e-12)).
            x = F.normalize(x, dim=ax, eps=1e-6)
            y = F.normalize(y, dim=ay, eps=1e-6)
        # Move the dot axes next to each other and use one batched matmul.
        xm, ym = x.movedim(ax, -1), y.movedim(ay, 1)
        rest_x, rest_y = xm.shape[1:-1], ym.shape[2:]
        out = torch.bmm(xm.reshape(x.shape[0], math.prod(rest_x), xm.shape[-1]),
                        ym.reshape(y.shape[0], ym.shape[1], math.prod(rest_y)))
        out = out.reshape((x.shape[0],) + tuple(rest_x) + tuple(rest_y))
        return out.unsqueeze(-1) if out.dim() == 1 else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # Keras 2: a dot product has no mask

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


__all__ = ["Dot"]
