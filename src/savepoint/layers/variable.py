"""``Variable``: a named handle on a tensor that a layer or optimizer owns, Keras style."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.errors import ShapeError


class Variable:
    """A Keras-style view of a weight: ``name``, ``path``, ``shape``, ``numpy()``, ``assign()``.

    The tensor itself stays a ``torch.nn.Parameter`` registered on its layer, so torch sees it
    (``model.parameters()``, ``model.to("cuda")``); this handle only adds Keras's vocabulary.

    Example:
        >>> v = Variable(torch.zeros(2), name="bias", path="dense/bias")
        >>> v.assign(np.ones(2)); v.numpy().tolist()
        [1.0, 1.0]
    """

    __slots__ = ("_owner", "_attr", "_tensor", "name", "path", "_trainable", "_on_assign")

    def __init__(self, tensor: torch.Tensor | None = None, *, name: str, path: str,
                 trainable: bool = False, owner: torch.nn.Module | None = None,
                 attr: str | None = None):
        self._owner, self._attr, self._tensor = owner, attr, tensor
        self.name, self.path, self._trainable = name, path, trainable
        self._on_assign = None  # called with the tensor after a restore writes it

    @property
    def value(self) -> torch.Tensor:
        """The live tensor (a ``Parameter`` for layer weights)."""
        if self._owner is not None:
            return self._owner._parameters[self._attr]
        return self._tensor

    @property
    def trainable(self) -> bool:
        return self._trainable and (self._owner is None or getattr(self._owner, "trainable", True))

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        return str(self.value.dtype).replace("torch.", "")

    def numpy(self) -> np.ndarray:
        """A copy of the value as a numpy array on the host."""
        return self.value.detach().cpu().numpy().copy()

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr.astype(dtype) if dtype is not None else arr

    def assign(self, value: Any) -> None:
        """Copy ``value`` into the variable in place (shape must match exactly)."""
        target = self.value
        src = value.value if isinstance(value, Variable) else value
        src = torch.as_tensor(np.asarray(src) if not isinstance(src, torch.Tensor) else src)
        if tuple(src.shape) != tuple(target.shape):
            raise ShapeError(f"Shape mismatch for variable '{self.path}': expected "
                             f"{tuple(target.shape)}, received {tuple(src.shape)}.")
        with torch.no_grad():
            target.copy_(src.to(device=target.device, dtype=target.dtype))

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"
