"""``Metric``: stateful metrics whose state stays in tensors (no host sync until ``result``)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable
from savepoint.losses.base import align_weight
from savepoint.serialization import builtin, builtin_objects


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
        if not isinstance(values, torch.Tensor):
            values = torch.as_tensor(values)
        if isinstance(sample_weight, (int, float)) and values.is_floating_point():
            # One weight for the whole batch (fit's loss tracker): two in-place adds.
            total, count = self._state("total", values), self._state("count", values)
            with torch.no_grad():
                total.add_(values.detach().sum(), alpha=sample_weight)
                count.add_(float(sample_weight) * max(values.numel(), 1))
            return
        if not values.is_floating_point():
            values = values.to(backend.torch_dtype(self.dtype))
        total, count = self._state("total", values), self._state("count", values)
        with torch.no_grad():
            values = values.detach()
            if sample_weight is None:
                total.add_(values.sum())
                count.add_(values.numel())
                return
            sw = torch.as_tensor(sample_weight, device=values.device).to(values.dtype)
            if sw.dim() == 0:
                total.add_(values.sum() * sw)
                count.add_(sw * max(values.numel(), 1))
                return
            sw = align_weight(sw, values)
            total.add_((values * sw).sum())
            count.add_(sw.sum())

    def result(self) -> torch.Tensor:
        total, count = self._states["total"], self._states["count"]
        if not self._mean:
            return total.clone()
        return torch.where(count > 0, total / torch.clamp(count, min=1e-12),
                           torch.zeros_like(total))


@builtin("metrics")
class Mean(Reduce):
    """The weighted mean of all values seen.

    Example:
        >>> m = Mean(); m.update_state([1.0, 2.0], sample_weight=[1.0, 3.0]); float(m.result())
        1.75
    """


@builtin("metrics")
class Sum(Reduce):
    """The weighted sum of all values seen.

    Example:
        >>> m = Sum(); m.update_state([1.0, 2.0]); float(m.result())
        3.0
    """
    _mean = False


def metric_function(fn: Callable) -> Callable:
    """Register a per-sample metric function so configs can name it (``"fn": "binary_accuracy"``).

    Example:
        >>> @metric_function
        ... def my_metric(y_true, y_pred): return (y_true == y_pred).float()
    """
    return builtin("metric_functions")(fn)


_MATCHED = ("accuracy", "acc", "crossentropy", "ce")


@builtin("metrics")
class MeanMetricWrapper(Reduce):
    """A mean over samples of ``fn(y_true, y_pred)`` (how accuracy metrics are built).

    ``fn`` may also be ``"accuracy"``/``"acc"``/``"crossentropy"``/``"ce"``: the concrete function
    is then chosen from the shapes of the first batch, as ``tf.keras`` 2 ``compile`` does
    (last output dimension 1: binary; integer labels: sparse categorical; else categorical).

    Example:
        >>> m = MeanMetricWrapper("accuracy")
        >>> m.update_state(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.9], [0.8]]))
        >>> float(m.result()), m.fn_name
        (0.5, 'binary_accuracy')
    """

    def __init__(self, fn: Callable | str, name: str | None = None, dtype: Any = None,
                 **kwargs: Any):
        if isinstance(fn, str) and fn not in _MATCHED:
            fn = _function_named(fn)
        super().__init__(name=name or (fn if isinstance(fn, str) else fn.__name__), dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    @property
    def fn_name(self) -> str:
        """The name of the function this metric averages (the pending choice before a batch)."""
        return self._fn if isinstance(self._fn, str) else self._fn.__name__

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = as_detached(y_pred)
            y_true = torch.as_tensor(y_true, device=y_pred.device)
            if isinstance(self._fn, str):
                self._fn = _function_named(_matched_name(self._fn, y_true, y_pred))
            super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = self.fn_name
        return {**config, **self._fn_kwargs}


def _matched_name(kind: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> str:
    """tf.keras 2's choice of accuracy/crossentropy from the label and output shapes."""
    t_last = y_true.shape[-1] if y_true.dim() else 1
    p_last = y_pred.shape[-1] if y_pred.dim() else 1
    sparse = y_true.dim() < y_pred.dim() or (t_last == 1 and p_last > 1)
    prefix = "binary" if p_last == 1 else "sparse_categorical" if sparse else "categorical"
    return f"{prefix}_{'accuracy' if kind in ('accuracy', 'acc') else 'crossentropy'}"


def _function_named(name: str) -> Callable:
    table = builtin_objects("metric_functions")
    if name not in table:
        raise ConfigError(f"Unknown metric function '{name}'. Expected one of {sorted(table)}. "
                          f"Register custom functions with savepoint.saving.register_serializable "
                          f"and pass a Metric instance instead.")
    return table[name]


def as_detached(value: Any) -> torch.Tensor:
    """A prediction as a tensor outside autograd.

    Example:
        >>> as_detached([1.0]).requires_grad
        False
    """
    return value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
