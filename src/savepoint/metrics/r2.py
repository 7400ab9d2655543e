"""``R2Score``: the coefficient of determination, per output or aggregated, as tf.keras 2.13+
computes it (optionally adjusted for ``num_regressors``)."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.metrics.base import Metric, as_detached
from savepoint.serialization import builtin


@builtin("metrics")
class R2Score(Metric):
    """``1 - SS_res / SS_tot`` for each output column of 2-D ``(batch, outputs)`` data;
    ``class_aggregation`` is ``"uniform_average"`` (the default), ``"variance_weighted_average"``
    or ``None`` (one score per output).

    Example:
        >>> m = R2Score()
        >>> m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str = "r2_score", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ConfigError(f"Invalid value for argument `class_aggregation`. Expected one of "
                              f"{valid}. Received: class_aggregation={class_aggregation}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or \
                num_regressors < 0:
            raise ConfigError(f"Invalid value for argument `num_regressors`. Expected a value "
                              f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.add_state("num_samples", (), torch.int32)
        self.built = False

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            dtype = backend.torch_dtype(self.dtype)
            y_pred = as_detached(y_pred).to(dtype)
            y_true = torch.as_tensor(y_true, device=y_pred.device).to(dtype)
            if not self.built:
                if y_pred.dim() != 2 or y_true.dim() != 2:
                    raise ShapeError(f"R2Score expects 2D inputs with shape (batch_size, "
                                     f"output_dim). Received input shapes: y_pred.shape="
                                     f"{tuple(y_pred.shape)} and y_true.shape="
                                     f"{tuple(y_true.shape)}.")
                n = int(y_pred.shape[-1])
                for state in ("squared_sum", "sum", "residual", "count"):
                    self.add_state(state, (n,))
                self.built = True
            weight = torch.ones((), dtype=dtype, device=y_true.device) if sample_weight is None \
                else torch.as_tensor(sample_weight, device=y_true.device).to(dtype)
            if weight.dim() == 1:
                weight = weight.unsqueeze(1)
            weight = torch.broadcast_to(weight, y_true.shape)
            weighted = y_true * weight
            self._state("sum", y_true).add_(weighted.sum(0))
            self._state("squared_sum", y_true).add_((y_true * weighted).sum(0))
            self._state("residual", y_true).add_(((y_true - y_pred) ** 2 * weight).sum(0))
            self._state("count", y_true).add_(weight.sum(0))
            self._state("num_samples", y_true).add_(y_true.numel())

    def result(self) -> torch.Tensor:
        if not self.built:
            return torch.zeros(())
        s = self._states
        mean = s["sum"] / s["count"]
        total = s["squared_sum"] - s["sum"] * mean
        raw = 1 - s["residual"] / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = int(s["num_samples"]), self.num_regressors
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


__all__ = ["R2Score"]
