"""``Metric``: stateful metrics whose state stays in tensors (no host sync until ``result``)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.layers.variable import Variable


class Metric:
    """Base class: ``update_state`` accumulates into tensors created by ``add_state``.

    Example:
        >>> m = Mean(); m.update_state(torch.tensor([1.0, 3.0])); float(m.result())
        2.0
    """

    def __init__(self, name: str | None = None, dtype: Any = None):
        self.name = name or backend.snake_case(type(self).__name__)
        self.dtype = str(dtype or backend.floatx())
        self._states: dict[str, torch.Tensor] = {}

    def add_state(self, name: str, shape: tuple = (), dtype: torch.dtype | None = None) -> None:
        self._states[name] = torch.zeros(shape, dtype=dtype or backend.torch_dtype(self.dtype))

    def _state(self, name: str, like: torch.Tensor | None) -> torch.Tensor:
        t = self._states[name]
        if like is not None and t.device != like.device:
            t = self._states[name] = t.to(like.device)
        return t

    @property
    def variables(self) -> list[Variable]:
        return [Variable(t, name=n, path=f"{self.name}/{n}") for n, t in self._states.items()]

    def reset_state(self) -> None:
        for t in self._states.values():
            t.zero_()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        return cls(**config)


class Reduce(Metric):
    """Accumulates a weighted ``total`` and ``count``; ``result`` is their ratio (or the sum)."""

    _mean = True

    def __init__(self, name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = torch.as_tensor(values)
        if not values.is_floating_point():
            values = values.to(backend.torch_dtype(self.dtype))
        total, count = self._state("total", values), self._state("count", values)
        with torch.no_grad():
            values = values.detach()
            if sample_weight is None:
                total.add_(values.sum())
                count.add_(values.numel())
                return
            sw = torch.as_tensor(sample_weight, dtype=values.dtype, device=values.device)
            if sw.dim() == 0:
                total.add_(values.sum() * sw)
                count.add_(sw * max(values.numel(), 1))
                return
            while sw.dim() < values.dim():
                sw = sw.unsqueeze(-1)
            sw = torch.broadcast_to(sw, values.shape)
            total.add_((values * sw).sum())
            count.add_(sw.sum())

    def result(self) -> torch.Tensor:
        total, count = self._states["total"], self._states["count"]
        if not self._mean:
            return total.clone()
        return torch.where(count > 0, total / torch.clamp(count, min=1e-12),
                           torch.zeros_like(total))


class Mean(Reduce):
    """The weighted mean of all values seen."""


class Sum(Reduce):
    """The weighted sum of all values seen."""
    _mean = False


class MeanMetricWrapper(Reduce):
    """A mean over samples of ``fn(y_true, y_pred)`` (how accuracy metrics are built)."""

    def __init__(self, fn, name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name or fn.__name__, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = y_pred.detach() if isinstance(y_pred, torch.Tensor) else torch.as_tensor(y_pred)
            y_true = torch.as_tensor(y_true, device=y_pred.device)
            super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}
