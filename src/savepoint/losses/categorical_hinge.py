"""Categorical hinge (``CategoricalHinge``): ``max(max_neg - pos + 1, 0)`` per sample."""

from __future__ import annotations

import torch

from savepoint.losses.base import Loss
from savepoint.serialization import builtin


def categorical_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)`` over the last
    axis; the loss is ``max(neg - pos + 1, 0)``, as tf.keras computes it.

    Example:
        >>> y, p = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.6]])
        >>> [round(v, 4) for v in categorical_hinge(y, p).tolist()]
        [0.7]
    """
    y_true = y_true.to(y_pred.dtype)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


@builtin("losses", "categorical_hinge")
class CategoricalHinge(Loss):
    """The categorical hinge loss for one-hot labels, ``tf.keras.losses.CategoricalHinge``.

    Example:
        >>> y, p = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.6]])
        >>> f"{float(CategoricalHinge()(y, p)):.2f}"
        '0.70'
    """

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "categorical_hinge"):
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true, y_pred):
        return categorical_hinge(y_true, y_pred)


__all__ = ["CategoricalHinge", "categorical_hinge"]
