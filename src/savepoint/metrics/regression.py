"""Regression metrics: mean squared/absolute/percentage/log errors, RMSE, cosine, logcosh."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.losses import regression as reg
from savepoint.losses.base import match_rank
from savepoint.metrics.base import Mean, as_detached, MeanMetricWrapper, metric_function
from savepoint.serialization import builtin

for _fn in (reg.mean_squared_error, reg.mean_absolute_error, reg.mean_absolute_percentage_error,
            reg.mean_squared_logarithmic_error, reg.log_cosh):
    metric_function(_fn)


@metric_function
def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The metric form: the cosine of the angle between ``y_true`` and ``y_pred`` along ``axis``.

    Example:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 0.0]])).tolist()
        [1.0]
    """
    return -reg.cosine_similarity(y_true, y_pred, axis)


@builtin("metrics", "mean_squared_error", "mse", "MSE")
class MeanSquaredError(MeanMetricWrapper):
    """The mean over samples of the mean squared error.

    Example:
        >>> m = MeanSquaredError(); m.update_state([[0.0], [1.0]], [[1.0], [1.0]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(reg.mean_squared_error, name=name, dtype=dtype)


@builtin("metrics", "mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(MeanMetricWrapper):
    """The mean over samples of the mean absolute error.

    Example:
        >>> m = MeanAbsoluteError(); m.update_state([[0.0], [1.0]], [[2.0], [1.0]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(reg.mean_absolute_error, name=name, dtype=dtype)


@builtin("metrics", "mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean over samples of the absolute error in percent of ``|y_true|``.

    Example:
        >>> m = MeanAbsolutePercentageError(); m.update_state([[2.0]], [[1.0]])
        >>> float(m.result())
        50.0
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(reg.mean_absolute_percentage_error, name=name, dtype=dtype)


@builtin("metrics", "mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean over samples of the squared error of ``log(1 + x)``.

    Example:
        >>> m = MeanSquaredLogarithmicError(); m.update_state([[1.0]], [[1.0]])
        >>> float(m.result())
        0.0
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(reg.mean_squared_logarithmic_error, name=name, dtype=dtype)


@builtin("metrics", "root_mean_squared_error", "rmse")
class RootMeanSquaredError(Mean):
    """``sqrt`` of the weighted mean of squared errors over every element seen.

    Example:
        >>> m = RootMeanSquaredError(); m.update_state([[0.0], [0.0]], [[3.0], [4.0]])
        >>> round(float(m.result()), 4)
        3.5355
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = as_detached(y_pred)
            if not y_pred.is_floating_point():
                y_pred = y_pred.to(torch.float32)
            y_true = match_rank(torch.as_tensor(y_true, device=y_pred.device), y_pred)
            super().update_state((y_pred - y_true).square(), sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


@builtin("metrics", "cosine_similarity")
class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between labels and predictions along ``axis``.

    Example:
        >>> m = CosineSimilarity(); m.update_state([[0.0, 1.0]], [[0.0, 2.0]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


@builtin("metrics", "logcosh", "log_cosh")
class LogCoshError(MeanMetricWrapper):
    """The mean over samples of ``log(cosh(y_pred - y_true))``.

    Example:
        >>> m = LogCoshError(); m.update_state([[0.0]], [[0.0]]); float(m.result())
        0.0
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(reg.log_cosh, name=name, dtype=dtype)
