"""``Loss``: per-sample loss functions reduced Keras's way (``sum_over_batch_size``)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from savepoint.errors import ConfigError

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "auto", "mean")


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning one value per sample.

    Example:
        >>> class L1(Loss):
        ...     def call(self, y_true, y_pred): return (y_true - y_pred).abs().mean(-1)
        >>> float(L1()(torch.zeros(2, 1), torch.ones(2, 1)))
        1.0
    """

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None):
        if reduction not in REDUCTIONS:
            raise ConfigError(f"Invalid reduction '{reduction}'. Expected one of {REDUCTIONS}.")
        self.reduction = reduction
        self.name = name or _snake(type(self).__name__)

    def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
        y_true = _as_tensor(y_true, y_pred)
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a plain function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable, reduction: str = "sum_over_batch_size",
                 name: str | None = None, **kwargs: Any):
        super().__init__(reduction=reduction, name=name or fn.__name__)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def reduce_values(values: torch.Tensor, sample_weight: Any, reduction: str) -> torch.Tensor:
    """Weight per-sample values, then reduce: mean over all elements or sum."""
    if sample_weight is not None:
        sw = torch.as_tensor(sample_weight, dtype=values.dtype, device=values.device)
        while sw.dim() < values.dim():
            sw = sw.unsqueeze(-1)
        values = values * sw
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean() if values.numel() else values.sum()


def _as_tensor(y_true: Any, y_pred: torch.Tensor) -> torch.Tensor:
    if isinstance(y_true, torch.Tensor):
        return y_true if y_true.device == y_pred.device else y_true.to(y_pred.device)
    return torch.as_tensor(y_true, device=y_pred.device)


def _snake(name: str) -> str:
    from savepoint.backend import snake_case
    return snake_case(name)
