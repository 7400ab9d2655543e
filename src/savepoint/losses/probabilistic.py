"""Cross-entropy losses: sparse and categorical, binary; from logits or probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.losses.base import Loss
from savepoint.saving.serialization import builtin

_EPSILON = 1e-7


def sparse_categorical_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor,
                                    from_logits: bool = False, axis: int = -1,
                                    ignore_class: int | None = None) -> torch.Tensor:
    """Per-sample cross-entropy of integer labels against class scores.

    Example:
        >>> y = torch.tensor([0]); p = torch.tensor([[0.5, 0.5]])
        >>> round(float(sparse_categorical_crossentropy(y, p)), 4)
        0.6931
    """
    labels = y_true
    if labels.dim() == y_pred.dim() and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    if labels.is_floating_point():
        labels = labels.long()
    elif labels.dtype != torch.long:
        labels = labels.long()
    num_classes = y_pred.shape[axis]
    _check_labels(labels, num_classes, ignore_class)
    if axis not in (-1, y_pred.dim() - 1):
        y_pred = y_pred.movedim(axis, -1)
    logits = y_pred if from_logits else torch.log(y_pred.clamp(_EPSILON, 1 - _EPSILON))
    flat = logits.reshape(-1, num_classes)
    if from_logits:
        losses = F.cross_entropy(flat, labels.reshape(-1), reduction="none",
                                 ignore_index=ignore_class if ignore_class is not None else -100)
    else:
        probs = y_pred.reshape(-1, num_classes)
        probs = probs / probs.sum(-1, keepdim=True)
        logp = torch.log(probs.clamp(_EPSILON, 1 - _EPSILON))
        safe = labels.reshape(-1).clamp(min=0)
        losses = -logp.gather(1, safe.unsqueeze(1)).squeeze(1)
        if ignore_class is not None:
            losses = losses * (labels.reshape(-1) != ignore_class)
    return losses.reshape(labels.shape)


def _check_labels(labels: torch.Tensor, num_classes: int, ignore_class: int | None) -> None:
    if labels.device.type != "cpu" or labels.numel() == 0:
        return  # a device-side check would force a sync every step
    low, high = int(labels.min()), int(labels.max())
    if ignore_class is not None and low == ignore_class:
        low = 0
    if low < 0 or high >= num_classes:
        raise ConfigError(
            f"Received a label value of {high if high >= num_classes else low} which is outside "
            f"the valid range of [0, {num_classes - 1}] for sparse categorical crossentropy "
            f"with {num_classes} classes. Check the labels or the size of the last layer.")


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy of one-hot (or soft) labels."""
    y_true = y_true.to(y_pred.dtype)
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        logp = torch.log_softmax(y_pred, dim=axis)
    else:
        probs = y_pred / y_pred.sum(axis, keepdim=True)
        logp = torch.log(probs.clamp(_EPSILON, 1 - _EPSILON))
    return -(y_true * logp).sum(axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy, averaged over the last axis."""
    y_true = y_true.to(y_pred.dtype)
    if y_true.dim() == y_pred.dim() - 1:
        y_true = y_true.unsqueeze(-1)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(_EPSILON, 1 - _EPSILON)
        values = -(y_true * torch.log(p) + (1 - y_true) * torch.log(1 - p))
    return values.mean(axis)


@builtin("losses", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels (``from_logits=True`` for raw scores)."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy", axis: int = -1):
        super().__init__(reduction=reduction, name=name)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.axis,
                                               self.ignore_class)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


@builtin("losses", "categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot labels."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "categorical_crossentropy"):
        super().__init__(reduction=reduction, name=name)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                        self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@builtin("losses", "binary_crossentropy")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy for 0/1 labels."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "binary_crossentropy"):
        super().__init__(reduction=reduction, name=name)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                   self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}
