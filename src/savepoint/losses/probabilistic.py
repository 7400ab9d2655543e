"""Cross-entropy losses: sparse and categorical, binary; from logits or probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, ShapeError
from savepoint.losses.base import Loss, match_rank
from savepoint.serialization import builtin

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
    labels = labels.long()
    num_classes = y_pred.shape[axis]
    if ignore_class is not None:
        _check_labels(labels, num_classes, ignore_class)
    if axis not in (-1, y_pred.dim() - 1):
        y_pred = y_pred.movedim(axis, -1)
    # From probabilities Keras clips, takes the log and applies softmax cross-entropy to it.
    logits = y_pred if from_logits else torch.log(y_pred.clamp(_EPSILON, 1 - _EPSILON))
    flat_labels = labels.reshape(-1)
    if ignore_class is not None:
        flat_labels = torch.where(flat_labels == ignore_class, -100, flat_labels)
    # Without ignore_class no label is ignored: torch's range check then covers every label,
    # and costs the training step nothing until it fails (then we say which label and why).
    ignore_index = -100 if ignore_class is not None else _NO_IGNORE
    try:
        losses = F.cross_entropy(logits.reshape(-1, num_classes), flat_labels,
                                 reduction="none", ignore_index=ignore_index)
    except (IndexError, RuntimeError):
        error = _label_error(labels, num_classes, ignore_class)
        if error is not None:
            raise error from None
        raise
    return losses.reshape(labels.shape)


_NO_IGNORE = -(2 ** 62)


def _check_labels(labels: torch.Tensor, num_classes: int, ignore_class: int | None) -> None:
    error = _label_error(labels, num_classes, ignore_class)
    if error is not None:
        raise error


def _label_error(labels: torch.Tensor, num_classes: int,
                 ignore_class: int | None) -> ConfigError | None:
    if labels.device.type != "cpu" or labels.numel() == 0:
        return None  # a device-side check would force a sync every step
    if ignore_class is not None:
        labels = labels[labels != ignore_class]
        if labels.numel() == 0:
            return None
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        return ConfigError(
            f"Received a label value of {high if high >= num_classes else low} which is outside "
            f"the valid range of [0, {num_classes - 1}] for sparse categorical crossentropy "
            f"with {num_classes} classes. Check the labels or the size of the last layer.")
    return None


def categorical_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """Per-sample cross-entropy of one-hot (or soft) labels; smoothing mixes in ``1/classes``.

    Example:
        >>> y = torch.tensor([[0.0, 1.0]]); p = torch.tensor([[0.5, 0.5]])
        >>> round(float(categorical_crossentropy(y, p)), 4)
        0.6931
    """
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ShapeError(
            f"categorical_crossentropy expects one-hot labels shaped like the predictions "
            f"{tuple(y_pred.shape)}. Received labels of shape {tuple(y_true.shape)}. For integer "
            f"labels use sparse_categorical_crossentropy.")
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


def binary_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """Per-sample binary cross-entropy averaged over the last axis; smoothing pulls labels to 0.5.

    Example:
        >>> round(float(binary_crossentropy(torch.tensor([1.0]), torch.tensor([0.5]))), 4)
        0.6931
    """
    y_true = match_rank(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(_EPSILON, 1 - _EPSILON)
        values = -(y_true * torch.log(p + _EPSILON) + (1 - y_true) * torch.log(1 - p + _EPSILON))
    return values.mean(axis)


@builtin("losses", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels (``from_logits=True`` for raw scores).

    Labels equal to ``ignore_class`` contribute 0 and leave the batch average.

    Example:
        >>> loss = SparseCategoricalCrossentropy(from_logits=True)
        >>> round(float(loss(torch.tensor([1]), torch.tensor([[0.0, 0.0]]))), 4)
        0.6931
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy", axis: int = -1):
        super().__init__(reduction=reduction, name=name)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.axis,
                                               self.ignore_class)

    def valid_mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        labels = y_true.squeeze(-1) if y_true.dim() == y_pred.dim() else y_true
        return labels != self.ignore_class

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


@builtin("losses", "categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot labels.

    Example:
        >>> loss = CategoricalCrossentropy(label_smoothing=0.1)
        >>> float(loss(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))) > 0
        True
    """

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
    """Binary cross-entropy for 0/1 labels.

    Example:
        >>> loss = BinaryCrossentropy(from_logits=True)
        >>> round(float(loss(torch.tensor([[1.0]]), torch.tensor([[0.0]]))), 4)
        0.6931
    """

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
