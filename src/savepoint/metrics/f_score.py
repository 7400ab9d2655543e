"""``FBetaScore`` and ``F1Score``: the F-beta score from thresholded predictions, per class
or averaged (``micro``, ``macro``, ``weighted``), as tf.keras 2.13+ computes it."""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.metrics.base import Metric, as_detached
from savepoint.serialization import builtin

_STATES = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


def _div_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)),
                       torch.zeros_like(a))


@builtin("metrics")
class FBetaScore(Metric):
    """F-beta of 2-D one-hot (or multi-label) ``y_true`` and scores ``y_pred``.

    Without ``threshold`` the highest score of each row is the positive prediction; with it,
    scores above it are. ``average=None`` gives one score per class.

    Example:
        >>> m = FBetaScore(average="micro", beta=2.0, threshold=0.5)
        >>> m.update_state([[1.0, 0.0], [0.0, 1.0]], [[0.9, 0.6], [0.2, 0.7]])
        >>> f"{float(m.result()):.4f}"
        '0.9091'
    """

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ConfigError("Invalid `average` argument value. Expected one of: {None, "
                              f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ConfigError(f"Invalid `beta` argument value. It should be a Python float. "
                              f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ConfigError(f"Invalid `beta` argument value. It should be > 0. Received: "
                              f"beta={beta}")
        if threshold is not None and (not isinstance(threshold, float) or
                                      not 0.0 < threshold <= 1.0):
            raise ConfigError(f"Invalid `threshold` argument value. It should be a Python float "
                              f"with 0 < threshold <= 1. Received: threshold={threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.built = False

    def _build(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ShapeError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape="
                             f"{tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}.")
        shape = () if self.average == "micro" else (int(y_pred.shape[-1]),)
        for state in _STATES:
            self.add_state(state, shape)
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            dtype = backend.torch_dtype(self.dtype)
            y_pred = as_detached(y_pred).to(dtype)
            y_true = torch.as_tensor(y_true, device=y_pred.device).to(dtype)
            if not self.built:
                self._build(y_true, y_pred)
            if self.threshold is None:
                top = y_pred.amax(-1, keepdim=True)
                y_pred = ((y_pred >= top) & (y_pred.abs() > 1e-9)).to(dtype)
            else:
                y_pred = (y_pred > self.threshold).to(dtype)
            weight = None if sample_weight is None else torch.as_tensor(
                sample_weight, device=y_pred.device).to(dtype).reshape(-1, 1)
            axis = None if self.average == "micro" else 0

            def weighted_sum(value: torch.Tensor) -> torch.Tensor:
                if weight is not None:
                    value = value * weight
                return value.sum() if axis is None else value.sum(axis)

            updates = (y_pred * y_true, y_pred * (1 - y_true), (1 - y_pred) * y_true, y_true)
            for state, value in zip(_STATES, updates):
                self._state(state, y_pred).add_(weighted_sum(value))

    def result(self) -> torch.Tensor:
        if not self.built:
            return torch.zeros(())
        tp, fp, fn, weights = (self._states[s] for s in _STATES)
        precision = _div_no_nan(tp, tp + fp)
        recall = _div_no_nan(tp, tp + fn)
        beta2 = self.beta ** 2
        score = _div_no_nan(precision * recall, beta2 * precision + recall) * (1 + beta2)
        if self.average == "weighted":
            return (score * _div_no_nan(weights, weights.sum())).sum()
        if self.average is not None:
            return score.mean()
        return score

    def reset_state(self) -> None:
        super().reset_state()

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


@builtin("metrics")
class F1Score(FBetaScore):
    """F1 (``FBetaScore`` with ``beta=1``), ``tf.keras.metrics.F1Score``.

    Example:
        >>> m = F1Score(average="macro", threshold=0.5)
        >>> m.update_state([[1.0, 0.0], [0.0, 1.0]], [[0.9, 0.6], [0.2, 0.7]])
        >>> f"{float(m.result()):.4f}"
        '0.8333'
    """

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype: Any = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


__all__ = ["FBetaScore", "F1Score"]
