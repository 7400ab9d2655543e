"""Regression, hinge and divergence losses: Keras's functions and their ``Loss`` classes."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from savepoint.losses.base import Loss, match_rank
from savepoint.serialization import builtin

_EPSILON = 1e-7


def _pair(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.float32)
    return match_rank(y_true, y_pred), y_pred


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean((y_pred - y_true) ** 2, axis=-1)``.

    Example:
        >>> mean_squared_error(torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])).tolist()
        [2.5]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().mean(-1)


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean(|y_pred - y_true|, axis=-1)``.

    Example:
        >>> mean_absolute_error(torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])).tolist()
        [1.5]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).abs().mean(-1)


def mean_absolute_percentage_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)``.

    Example:
        >>> mean_absolute_percentage_error(torch.tensor([[2.0]]), torch.tensor([[1.0]])).tolist()
        [50.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    diff = (y_true - y_pred).abs() / y_true.abs().clamp(min=_EPSILON)
    return 100.0 * diff.mean(-1)


def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``.

    Example:
        >>> round(mean_squared_logarithmic_error(torch.tensor([[0.0]]),
        ...                                      torch.tensor([[1.0]])).item(), 4)
        0.4805
    """
    y_true, y_pred = _pair(y_true, y_pred)
    first = torch.log1p(y_pred.clamp(min=_EPSILON))
    second = torch.log1p(y_true.clamp(min=_EPSILON))
    return (first - second).square().mean(-1)


def huber(y_true: torch.Tensor, y_pred: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Quadratic for ``|error| <= delta``, linear beyond: ``delta * |e| - delta**2 / 2``.

    Example:
        >>> huber(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.5, 3.0]])).tolist()
        [1.3125]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    error = (y_pred - y_true).abs()
    quadratic = 0.5 * error.square()
    linear = delta * error - 0.5 * delta * delta
    return torch.where(error <= delta, quadratic, linear).mean(-1)


def log_cosh(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

    Example:
        >>> round(log_cosh(torch.tensor([[0.0]]), torch.tensor([[1.0]])).item(), 4)
        0.4338
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    return x * torch.rsqrt(x.square().sum(axis, keepdim=True).clamp(min=1e-12))


def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The loss form: minus the cosine of the angle between ``y_true`` and ``y_pred``.

    Example:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]])).tolist()
        [-1.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return -(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(axis)


def _signed_labels(y_true: torch.Tensor) -> torch.Tensor:
    """0/1 labels become -1/1, as Keras does for hinge losses; -1/1 labels stay."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` with 0/1 labels mapped to -1/1.

    Example:
        >>> hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]])).tolist()
        [1.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _signed_labels(y_true) * y_pred).clamp(min=0.0).mean(-1)


def squared_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)`` with 0/1 labels mapped to -1/1.

    Example:
        >>> squared_hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]])).tolist()
        [1.25]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _signed_labels(y_true) * y_pred).clamp(min=0.0).square().mean(-1)


def kl_divergence(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[eps, 1]``.

    Example:
        >>> kl_divergence(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]])).tolist()
        [0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = y_true.clamp(_EPSILON, 1.0), y_pred.clamp(_EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(-1)


def poisson(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``.

    Example:
        >>> poisson(torch.tensor([[0.0]]), torch.tensor([[2.0]])).tolist()
        [2.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true * torch.log(y_pred + _EPSILON)).mean(-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh
kld = KLD = kullback_leibler_divergence = kl_divergence


class _FunctionLoss(Loss):
    """A ``Loss`` whose per-sample values are ``self.fn(y_true, y_pred)``."""

    fn: Callable[..., torch.Tensor]

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return type(self).fn(y_true, y_pred)


@builtin("losses", "mean_squared_error", "mse", "MSE")
class MeanSquaredError(_FunctionLoss):
    """Mean of squared errors over the last axis, reduced over the batch.

    Example:
        >>> float(MeanSquaredError()(torch.tensor([[0.0], [1.0]]), torch.tensor([[1.0], [1.0]])))
        0.5
    """
    fn = mean_squared_error

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(_FunctionLoss):
    """Mean of absolute errors over the last axis, reduced over the batch.

    Example:
        >>> float(MeanAbsoluteError()(torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [1.0]])))
        1.0
    """
    fn = mean_absolute_error

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_absolute_error"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(_FunctionLoss):
    """Mean absolute error as a percentage of ``|y_true|``.

    Example:
        >>> float(MeanAbsolutePercentageError()(torch.tensor([[2.0]]), torch.tensor([[1.0]])))
        50.0
    """
    fn = mean_absolute_percentage_error

    def __init__(self, reduction: str = "sum_over_batch_size",
                 name: str = "mean_absolute_percentage_error"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(_FunctionLoss):
    """Mean squared error of ``log(1 + x)`` values.

    Example:
        >>> float(MeanSquaredLogarithmicError()(torch.tensor([[1.0]]), torch.tensor([[1.0]])))
        0.0
    """
    fn = mean_squared_logarithmic_error

    def __init__(self, reduction: str = "sum_over_batch_size",
                 name: str = "mean_squared_logarithmic_error"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "huber_loss", "huber")
class Huber(Loss):
    """Huber loss: squared error near zero, absolute error beyond ``delta``.

    Example:
        >>> float(Huber(delta=1.0)(torch.tensor([[0.0]]), torch.tensor([[3.0]])))
        2.5
    """

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size",
                 name: str = "huber_loss"):
        super().__init__(reduction=reduction, name=name)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@builtin("losses", "log_cosh", "logcosh")
class LogCosh(_FunctionLoss):
    """Logarithm of the hyperbolic cosine of the error.

    Example:
        >>> float(LogCosh()(torch.tensor([[0.0]]), torch.tensor([[0.0]])))
        0.0
    """
    fn = log_cosh

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "log_cosh"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "cosine_similarity")
class CosineSimilarity(Loss):
    """Minus the cosine similarity along ``axis`` (-1 for identical directions).

    Example:
        >>> loss = CosineSimilarity()
        >>> round(float(loss(torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 2.0]]))), 4)
        -1.0
    """

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size",
                 name: str = "cosine_similarity"):
        super().__init__(reduction=reduction, name=name)
        self.axis = axis

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@builtin("losses", "hinge")
class Hinge(_FunctionLoss):
    """Hinge loss for -1/1 (or 0/1) labels.

    Example:
        >>> float(Hinge()(torch.tensor([[1.0]]), torch.tensor([[0.25]])))
        0.75
    """
    fn = hinge

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "hinge"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "squared_hinge")
class SquaredHinge(_FunctionLoss):
    """Squared hinge loss for -1/1 (or 0/1) labels.

    Example:
        >>> float(SquaredHinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]])))
        0.25
    """
    fn = squared_hinge

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "squared_hinge"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "kl_divergence", "kld", "KLD", "kullback_leibler_divergence")
class KLDivergence(_FunctionLoss):
    """Kullback-Leibler divergence of ``y_pred`` from ``y_true`` (both distributions).

    Example:
        >>> float(KLDivergence()(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])))
        0.0
    """
    fn = kl_divergence

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "kl_divergence"):
        super().__init__(reduction=reduction, name=name)


@builtin("losses", "poisson")
class Poisson(_FunctionLoss):
    """Poisson negative log-likelihood (without the constant term) of counts ``y_true``.

    Example:
        >>> float(Poisson()(torch.tensor([[0.0]]), torch.tensor([[1.0]])))
        1.0
    """
    fn = poisson

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "poisson"):
        super().__init__(reduction=reduction, name=name)


__all__: list[Any] = [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "cosine_similarity", "hinge",
    "squared_hinge", "kl_divergence", "poisson", "mse", "MSE", "mae", "MAE", "mape", "MAPE",
    "msle", "MSLE", "logcosh", "kld", "KLD", "kullback_leibler_divergence",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "CosineSimilarity", "Hinge",
    "SquaredHinge", "KLDivergence", "Poisson"]
