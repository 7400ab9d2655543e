"""``MeanIoU``: mean intersection-over-union from an accumulated confusion matrix."""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.metrics.base import Metric, as_detached
from savepoint.serialization import builtin


@builtin("metrics")
class MeanIoU(Metric):
    """``tf.keras.metrics.MeanIoU``: accumulates a ``total_confusion_matrix`` (rows: true
    class, columns: predicted class) and returns the mean over classes that occur of
    ``tp / (tp + fp + fn)``. Labels and predictions are class ids (``sparse_y_*=False``:
    argmax over ``axis`` first); float predictions are truncated to ints as tf.keras does.

    Example:
        >>> m = MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); f"{float(m.result()):.4f}"
        '0.3333'
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"Expected num_classes to be a positive int. Received: "
                              f"num_classes={num_classes!r}.")
        super().__init__(name=name, dtype=dtype)
        self.num_classes, self.ignore_class, self.axis = num_classes, ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.add_state("total_confusion_matrix", (num_classes, num_classes))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = as_detached(y_pred)
            y_true = torch.as_tensor(y_true, device=y_pred.device)
            if not self.sparse_y_true:
                y_true = y_true.argmax(self.axis)
            if not self.sparse_y_pred:
                y_pred = y_pred.argmax(self.axis)
            dtype = backend.torch_dtype(self.dtype)
            # tf.keras casts to the metric dtype, then confusion_matrix truncates to int64
            y_true = y_true.to(dtype).reshape(-1).long()
            y_pred = y_pred.to(dtype).reshape(-1).long()
            weight = None if sample_weight is None else \
                torch.as_tensor(sample_weight, device=y_pred.device).to(dtype).reshape(-1)
            if weight is not None and weight.numel() == 1:
                weight = weight.expand(y_true.shape[0])
            if self.ignore_class is not None:
                keep = y_true != self.ignore_class
                y_true, y_pred = y_true[keep], y_pred[keep]
                weight = None if weight is None else weight[keep]
            if weight is None:
                weight = torch.ones(y_true.shape, dtype=dtype, device=y_true.device)
            n = self.num_classes
            cm = torch.zeros(n * n, dtype=dtype, device=y_true.device)
            cm.index_add_(0, y_true * n + y_pred, weight)
            self._state("total_confusion_matrix", y_pred).add_(cm.reshape(n, n))

    def result(self) -> torch.Tensor:
        cm = self._states["total_confusion_matrix"]
        tp = torch.diagonal(cm)
        denominator = cm.sum(0) + cm.sum(1) - tp
        valid = (denominator != 0).to(cm.dtype).sum()
        iou = torch.where(denominator != 0, tp / torch.where(denominator != 0, denominator,
                                                             torch.ones_like(denominator)),
                          torch.zeros_like(tp))
        return torch.where(valid > 0, iou.sum() / torch.clamp(valid, min=1), iou.sum() * 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


__all__ = ["MeanIoU"]
