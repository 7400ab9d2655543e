"""Accuracy metrics: sparse categorical, categorical, binary, plain."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.metrics.base import MeanMetricWrapper
from savepoint.saving.serialization import builtin


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where ``argmax(y_pred) == y_true`` per sample.

    Example:
        >>> sparse_categorical_accuracy(torch.tensor([1]), torch.tensor([[0.1, 0.9]])).tolist()
        [1.0]
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(-1) == y_true.to(torch.long)).to(y_pred.dtype)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_pred.argmax(-1) == y_true.argmax(-1)).to(y_pred.dtype)


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5):
    if y_true.dim() == y_pred.dim() - 1:
        y_true = y_true.unsqueeze(-1)
    return ((y_pred > threshold).to(y_pred.dtype) == y_true.to(y_pred.dtype)).to(
        y_pred.dtype).mean(-1)


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_true.to(y_pred.dtype) == y_pred).to(y_pred.dtype)


@builtin("metrics", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction equals the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@builtin("metrics", "categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction equals the argmax of the one-hot label."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@builtin("metrics", "binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` equals the 0/1 label."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


@builtin("metrics")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)
