"""Confusion-matrix metrics: true/false positive/negative counts, Precision, Recall, AUC."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.losses.base import align_weight, match_rank
from savepoint.metrics.base import Metric, as_detached
from savepoint.serialization import builtin

_EPSILON = 1e-7
_NEG_INF = -1e10


def _threshold_list(thresholds: float | Sequence[float] | None, default: float) -> list[float]:
    values = [default] if thresholds is None else \
        [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    for t in values:
        if not 0.0 <= float(t) <= 1.0:
            raise ConfigError(f"Threshold values must be in [0, 1]. Received: {thresholds!r}. "
                              f"Pass thresholds between 0 and 1, for example thresholds=0.5.")
    return [float(t) for t in values]


class _ConfusionMetric(Metric):
    """Accumulates weighted confusion counts per threshold (``y_pred > threshold`` is positive)."""

    _state_names: tuple[str, ...] = ("true_positives", "false_positives", "true_negatives",
                                     "false_negatives")

    def __init__(self, thresholds: list[float], top_k: int | None = None,
                 class_id: int | None = None, from_logits: bool = False,
                 name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.top_k, self.class_id, self._from_logits = top_k, class_id, from_logits
        self._thresholds = torch.tensor(thresholds, dtype=torch.float64)
        self._sorted, perm = torch.sort(self._thresholds)
        self._unsort = torch.argsort(perm)
        for state in self._state_names:
            self.add_state(state, (len(thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = as_detached(y_pred)
            dtype = backend.torch_dtype(self.dtype)
            y_pred = y_pred.to(dtype)
            y_true = match_rank(torch.as_tensor(y_true, device=y_pred.device), y_pred)
            if self._from_logits:
                y_pred = torch.sigmoid(y_pred)
            weights = torch.ones_like(y_pred) if sample_weight is None else \
                align_weight(sample_weight, y_pred)
            if self.top_k is not None:
                keep = torch.zeros_like(y_pred, dtype=torch.bool).scatter_(
                    -1, y_pred.topk(self.top_k, dim=-1).indices, True)
                y_pred = torch.where(keep, y_pred, torch.full_like(y_pred, _NEG_INF))
            if self.class_id is not None:
                y_pred, y_true = y_pred[..., self.class_id], y_true[..., self.class_id]
                weights = weights[..., self.class_id]
            self._accumulate(y_true.reshape(-1) != 0, y_pred.reshape(-1).contiguous(),
                             weights.reshape(-1))

    def _accumulate(self, positive: torch.Tensor, scores: torch.Tensor, w: torch.Tensor) -> None:
        pos_w = w * positive.to(w.dtype)
        neg_w = w - pos_w
        tp, fp = self._counts_above(scores, pos_w), self._counts_above(scores, neg_w)
        updates = {"true_positives": tp, "false_positives": fp,
                   "true_negatives": neg_w.sum() - fp, "false_negatives": pos_w.sum() - tp}
        for state in self._state_names:
            self._state(state, scores).add_(updates[state])

    def _counts_above(self, scores: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """For each threshold, the total weight of scores strictly above it (one pass)."""
        bounds = self._sorted.to(device=scores.device, dtype=scores.dtype)
        below = torch.bucketize(scores, bounds)  # thresholds strictly below each score
        hist = torch.zeros(len(bounds) + 1, dtype=w.dtype, device=w.device).index_add_(0, below, w)
        above = hist.flip(0).cumsum(0).flip(0)[1:]
        return above[self._unsort.to(scores.device)]


class _ThresholdCount(_ConfusionMetric):
    """One confusion count per threshold; a scalar for a single threshold."""

    _count: str = ""

    def __init__(self, thresholds: float | Sequence[float] | None = None,
                 name: str | None = None, dtype: Any = None):
        self._init_thresholds = thresholds
        self._state_names = ("accumulator",)
        super().__init__(_threshold_list(thresholds, 0.5), name=name, dtype=dtype)

    def _accumulate(self, positive, scores, w):
        pos_w = w * positive.to(w.dtype)
        neg_w = w - pos_w
        counts = {"tp": lambda: self._counts_above(scores, pos_w),
                  "fp": lambda: self._counts_above(scores, neg_w),
                  "tn": lambda: neg_w.sum() - self._counts_above(scores, neg_w),
                  "fn": lambda: pos_w.sum() - self._counts_above(scores, pos_w)}[self._count]()
        self._state("accumulator", scores).add_(counts)

    def result(self) -> torch.Tensor:
        acc = self._states["accumulator"]
        return acc[0].clone() if _is_single(self._init_thresholds) else acc.clone()

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self._init_thresholds}


def _is_single(thresholds: Any) -> bool:
    return thresholds is None or isinstance(thresholds, (int, float))


@builtin("metrics", "true_positives")
class TruePositives(_ThresholdCount):
    """The weighted number of positives predicted positive (``y_pred > threshold``).

    Example:
        >>> m = TruePositives(); m.update_state([0, 1, 1], [0.9, 0.8, 0.1]); float(m.result())
        1.0
    """
    _count = "tp"


@builtin("metrics", "false_positives")
class FalsePositives(_ThresholdCount):
    """The weighted number of negatives predicted positive.

    Example:
        >>> m = FalsePositives(); m.update_state([0, 1, 1], [0.9, 0.8, 0.1]); float(m.result())
        1.0
    """
    _count = "fp"


@builtin("metrics", "true_negatives")
class TrueNegatives(_ThresholdCount):
    """The weighted number of negatives predicted negative.

    Example:
        >>> m = TrueNegatives(); m.update_state([0, 0, 1], [0.9, 0.2, 0.1]); float(m.result())
        1.0
    """
    _count = "tn"


@builtin("metrics", "false_negatives")
class FalseNegatives(_ThresholdCount):
    """The weighted number of positives predicted negative.

    Example:
        >>> m = FalseNegatives(); m.update_state([0, 1, 1], [0.9, 0.8, 0.1]); float(m.result())
        1.0
    """
    _count = "fn"


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds: float | Sequence[float] | None = None,
                 top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        self._init_thresholds = thresholds
        if top_k is not None and thresholds is None:
            values = [_NEG_INF]  # with top_k Keras counts every kept prediction as positive
        else:
            values = _threshold_list(thresholds, 0.5)
        super().__init__(values, top_k=top_k, class_id=class_id, name=name, dtype=dtype)

    def _ratio(self, num: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        den = num + other
        value = torch.where(den > 0, num / den.clamp(min=1e-12), torch.zeros_like(num))
        return value[0] if _is_single(self._init_thresholds) else value

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self._init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


@builtin("metrics", "precision")
class Precision(_PrecisionRecall):
    """``true_positives / (true_positives + false_positives)`` at each threshold (default 0.5).

    Example:
        >>> m = Precision(); m.update_state([0, 1, 1, 1], [1.0, 1.0, 1.0, 0.0])
        >>> round(float(m.result()), 4)
        0.6667
    """
    _state_names = ("true_positives", "false_positives")

    def _accumulate(self, positive, scores, w):
        pos_w = w * positive.to(w.dtype)
        self._state("true_positives", scores).add_(self._counts_above(scores, pos_w))
        self._state("false_positives", scores).add_(self._counts_above(scores, w - pos_w))

    def result(self) -> torch.Tensor:
        return self._ratio(self._states["true_positives"], self._states["false_positives"])


@builtin("metrics", "recall")
class Recall(_PrecisionRecall):
    """``true_positives / (true_positives + false_negatives)`` at each threshold (default 0.5).

    Example:
        >>> m = Recall(); m.update_state([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0])
        >>> round(float(m.result()), 4)
        0.6667
    """
    _state_names = ("true_positives", "false_negatives")

    def _accumulate(self, positive, scores, w):
        pos_w = w * positive.to(w.dtype)
        tp = self._counts_above(scores, pos_w)
        self._state("true_positives", scores).add_(tp)
        self._state("false_negatives", scores).add_(pos_w.sum() - tp)

    def result(self) -> torch.Tensor:
        return self._ratio(self._states["true_positives"], self._states["false_negatives"])


@builtin("metrics", "auc")
class AUC(_ConfusionMetric):
    """Area under the ROC (or PR) curve from confusion counts at ``num_thresholds`` thresholds.

    Thresholds are ``i / (num_thresholds - 1)`` for the inner points plus ``-eps`` and ``1 + eps``
    at the ends, as in Keras; ``summation_method="interpolation"`` is the trapezoidal rule for ROC
    and Davis & Goadrich interpolation for PR.

    Example:
        >>> m = AUC(); m.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> round(float(m.result()), 2)
        0.75
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None,
                 label_weights: Any = None, from_logits: bool = False):
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        _check_auc_args(num_thresholds, curve, summation_method, multi_label, label_weights)
        self._init_thresholds = None if thresholds is None else _threshold_list(thresholds, 0.5)
        if self._init_thresholds is not None:
            inner = sorted(self._init_thresholds)
            num_thresholds = len(inner) + 2
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, \
            summation_method
        self.multi_label, self.num_labels = multi_label, num_labels
        super().__init__([0.0 - _EPSILON] + inner + [1.0 + _EPSILON], from_logits=from_logits,
                         name=name or "auc", dtype=dtype)

    def result(self) -> torch.Tensor:
        tp, fp = self._states["true_positives"], self._states["false_positives"]
        tn, fn = self._states["true_negatives"], self._states["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _interpolate_pr_auc(tp, fp, fn)
        recall = _div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _div_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()

    def get_config(self) -> dict:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve, "summation_method": self.summation_method,
                "thresholds": self._init_thresholds, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "label_weights": None,
                "from_logits": self._from_logits}


def _check_auc_args(num_thresholds: int, curve: str, summation_method: str, multi_label: bool,
                    label_weights: Any) -> None:
    if num_thresholds <= 1:
        raise ConfigError(f"AUC needs num_thresholds > 1. Received: {num_thresholds}. Use the "
                          f"default, num_thresholds=200.")
    if curve not in ("ROC", "PR"):
        raise ConfigError(f"Invalid AUC curve '{curve}'. Expected 'ROC' or 'PR'.")
    if summation_method not in ("interpolation", "minoring", "majoring"):
        raise ConfigError(f"Invalid AUC summation_method '{summation_method}'. Expected "
                          f"'interpolation', 'minoring' or 'majoring'.")
    if multi_label or label_weights is not None:
        raise ConfigError("AUC(multi_label=True) and label_weights are not supported. Received "
                          f"multi_label={multi_label}, label_weights={label_weights!r}. Use one "
                          f"AUC per label with class_id-sliced outputs instead.")


def _div_no_nan(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den != 0, num / torch.where(den != 0, den, torch.ones_like(den)),
                       torch.zeros_like(num))


def _interpolate_pr_auc(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """Davis & Goadrich (2006) interpolation of the precision-recall curve, as Keras computes it."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _div_no_nan(dtp, dp.clamp(min=0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = torch.where(both, _div_no_nan(p[:-1], p[1:].clamp(min=0)), torch.ones_like(p[1:]))
    increments = _div_no_nan(slope * (dtp + intercept * torch.log(ratio)),
                             (tp[1:] + fn[1:]).clamp(min=0))
    return increments.sum()
