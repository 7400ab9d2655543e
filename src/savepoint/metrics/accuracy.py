"""Accuracy metrics: sparse categorical, categorical, binary, plain and top-k."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.metrics.base import MeanMetricWrapper, metric_function
from savepoint.serialization import builtin


@metric_function
def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where ``argmax(y_pred) == y_true`` per sample.

    Example:
        >>> sparse_categorical_accuracy(torch.tensor([1]), torch.tensor([[0.1, 0.9]])).tolist()
        [1.0]
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(-1) == y_true.to(torch.long)).to(y_pred.dtype)


@metric_function
def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` per sample.

    Example:
        >>> categorical_accuracy(torch.tensor([[0, 1]]), torch.tensor([[0.1, 0.9]])).tolist()
        [1.0]
    """
    return (y_pred.argmax(-1) == y_true.argmax(-1)).to(y_pred.dtype)


@metric_function
def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                    threshold: float = 0.5) -> torch.Tensor:
    """Mean over the last axis of ``(y_pred > threshold) == y_true``.

    Example:
        >>> binary_accuracy(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.7], [0.7]])).tolist()
        [1.0, 0.0]
    """
    if y_true.dim() == y_pred.dim() - 1:
        y_true = y_true.unsqueeze(-1)
    return ((y_pred > threshold).to(y_pred.dtype) == y_true.to(y_pred.dtype)).to(
        y_pred.dtype).mean(-1)


@metric_function
def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where the prediction equals the label exactly.

    Example:
        >>> accuracy(torch.tensor([1, 2]), torch.tensor([1.0, 3.0])).tolist()
        [1.0, 0.0]
    """
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    elif y_pred.dim() == y_true.dim() + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.squeeze(-1)
    return (y_true.to(y_pred.dtype) == y_pred).to(y_pred.dtype)


@builtin("metrics", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction equals the integer label.

    Example:
        >>> m = SparseCategoricalAccuracy(); m.update_state([1, 0], [[0.2, 0.8], [0.3, 0.7]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@builtin("metrics", "categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction equals the argmax of the one-hot label.

    Example:
        >>> m = CategoricalAccuracy(); m.update_state([[0, 1]], [[0.2, 0.8]]); float(m.result())
        1.0
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@builtin("metrics", "binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` equals the 0/1 label.

    Example:
        >>> m = BinaryAccuracy(); m.update_state([[1.0]], [[0.6]]); float(m.result())
        1.0
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


@builtin("metrics")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Example:
        >>> m = Accuracy(); m.update_state([1, 2], [1.0, 0.0]); float(m.result())
        0.5
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


def _in_top_k(target_score: torch.Tensor, y_pred: torch.Tensor, k: int) -> torch.Tensor:
    """1.0 where fewer than ``k`` classes score strictly higher than the target (ties count as
    in the top k, as ``tf.math.in_top_k`` does)."""
    higher = (y_pred > target_score.unsqueeze(-1)).sum(-1)
    return (higher < k).to(y_pred.dtype if y_pred.is_floating_point() else torch.float32)


@metric_function
def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                               k: int = 5) -> torch.Tensor:
    """1.0 where the one-hot label's class is among the ``k`` highest predictions.

    Example:
        >>> y_pred = torch.tensor([[0.1, 0.5, 0.4]])
        >>> top_k_categorical_accuracy(torch.tensor([[0, 0, 1]]), y_pred, k=2).tolist()
        [1.0]
    """
    target = y_true.argmax(-1, keepdim=True)
    return _in_top_k(y_pred.gather(-1, target).squeeze(-1), y_pred, k)


@metric_function
def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                                      k: int = 5) -> torch.Tensor:
    """1.0 where the integer label is among the ``k`` highest predictions.

    Example:
        >>> y_pred = torch.tensor([[0.1, 0.5, 0.4]])
        >>> sparse_top_k_categorical_accuracy(torch.tensor([0]), y_pred, k=2).tolist()
        [0.0]
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    target = y_true.to(torch.long).unsqueeze(-1)
    return _in_top_k(y_pred.gather(-1, target).squeeze(-1), y_pred, k)


@builtin("metrics", "top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the top ``k`` predictions.

    Example:
        >>> m = TopKCategoricalAccuracy(k=1); m.update_state([[0, 1]], [[0.2, 0.8]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


@builtin("metrics", "sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top ``k`` predictions.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1); m.update_state([0], [[0.2, 0.8]])
        >>> float(m.result())
        0.0
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
