"""Binary focal cross-entropy (``BinaryFocalCrossentropy``): Keras 2's down-weighting of easy
examples by ``(1 - p_t) ** gamma``, with optional ``alpha`` class balancing."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.losses.base import Loss, match_rank
from savepoint.serialization import builtin

_EPSILON = 1e-7


def binary_focal_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor,
                              apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """Per-sample focal cross-entropy averaged over ``axis``, as tf.keras 2 computes it:
    ``(1 - p_t) ** gamma * bce`` with ``p_t = y p + (1 - y)(1 - p)`` and Keras 2's clipped
    binary cross-entropy (times ``y alpha + (1 - y)(1 - alpha)`` when balancing).

    Example:
        >>> y = torch.tensor([[1.0]]); p = torch.tensor([[0.5]])
        >>> f"{binary_focal_crossentropy(y, p).item():.4f}"
        '0.1733'
    """
    y_true = match_rank(y_true, y_pred).to(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        probs = torch.sigmoid(y_pred)
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        probs = y_pred
        p = y_pred.clamp(_EPSILON, 1 - _EPSILON)
        bce = -(y_true * torch.log(p + _EPSILON) + (1 - y_true) * torch.log(1 - p + _EPSILON))
    p_t = y_true * probs + (1 - y_true) * (1 - probs)
    focal = torch.pow(1 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return focal.mean(axis)


@builtin("losses", "binary_focal_crossentropy")
class BinaryFocalCrossentropy(Loss):
    """Focal loss for 0/1 labels (Lin et al., 2017), ``tf.keras.losses.BinaryFocalCrossentropy``.

    Example:
        >>> loss = BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
        >>> f"{float(loss(torch.tensor([[1.0]]), torch.tensor([[0.0]]))):.4f}"
        '0.1733'
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = "sum_over_batch_size",
                 name: str = "binary_focal_crossentropy"):
        super().__init__(reduction=reduction, name=name)
        for key, value in (("alpha", alpha), ("gamma", gamma),
                           ("label_smoothing", label_smoothing)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"Expected {key} to be a non-negative float. Received: "
                                  f"{key}={value!r}.")
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true, y_pred):
        return binary_focal_crossentropy(y_true, y_pred, self.apply_class_balancing,
                                         self.alpha, self.gamma, self.from_logits,
                                         self.label_smoothing, self.axis)

    def get_config(self):
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


__all__ = ["BinaryFocalCrossentropy", "binary_focal_crossentropy"]
