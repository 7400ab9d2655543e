"""Metrics by Keras name: ``get("accuracy", loss=...)``, ``get("mae")`` and the classes."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                        SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                                        TopKCategoricalAccuracy, accuracy, binary_accuracy,
                                        categorical_accuracy, sparse_categorical_accuracy,
                                        sparse_top_k_categorical_accuracy,
                                        top_k_categorical_accuracy)
from savepoint.metrics.base import (Mean, MeanMetricWrapper, Metric, Reduce, Sum,
                                    metric_function)
from savepoint.metrics.confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall,
                                         TrueNegatives, TruePositives)
from savepoint.metrics.probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, Hinge,
                                             KLDivergence, Poisson, SparseCategoricalCrossentropy,
                                             SquaredHinge)
from savepoint.metrics.regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                                          MeanAbsolutePercentageError, MeanSquaredError,
                                          MeanSquaredLogarithmicError, RootMeanSquaredError,
                                          cosine_similarity)
from savepoint.metrics.categorical_hinge import CategoricalHinge
from savepoint.metrics.f_score import F1Score, FBetaScore
from savepoint.metrics.iou import MeanIoU
from savepoint.metrics.r2 import R2Score
from savepoint import serialization as _serialization
from savepoint.serialization import builtin_objects, serialize

_SHAPE_MATCHED = ("accuracy", "acc", "crossentropy", "ce")


def get(identifier: Any, loss: Any = None) -> Metric:
    """Resolve a metric name, config, instance or function to a ``Metric``.

    A snake-case name keeps the name the user wrote, so ``"mae"`` logs as ``mae`` as in Keras.
    ``"accuracy"``/``"acc"`` (and ``"crossentropy"``/``"ce"``) become the variant that fits the
    data, chosen from the shapes of the first batch by tf.keras 2's rule: last output dimension 1
    -> binary; integer labels -> sparse categorical; otherwise categorical. ``loss`` is accepted
    for compatibility; the choice depends on shapes only, as in tf.keras 2 (so ``loss="mse"``
    with one output unit gives ``binary_accuracy``).

    Example:
        >>> type(get("sparse_categorical_accuracy")).__name__
        'SparseCategoricalAccuracy'
        >>> get("mae").name
        'mae'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _SHAPE_MATCHED:
        return MeanMetricWrapper(identifier.lower(), name=identifier)
    if isinstance(identifier, str):
        cls = builtin_objects("metrics").get(identifier)
        if cls is None:
            names = sorted(k for k in builtin_objects("metrics") if k.islower())
            raise ConfigError(f"Unknown metric '{identifier}'. Expected one of: "
                              f"{sorted(names + list(_SHAPE_MATCHED))} (or a class name such "
                              f"as 'AUC'), a Metric instance or a function.")
        return cls() if identifier == cls.__name__ else cls(name=identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ConfigError(f"Expected a metric name, Metric instance or function. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Metric:
    """A metric config (from ``serialize``) or class name -> a new ``Metric``.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {}}).name
        'auc'
    """
    return _serialization.deserialize(config, "metrics", custom_objects)


__all__ = [
    "Metric", "Mean", "Sum", "Reduce", "MeanMetricWrapper", "metric_function", "Accuracy",
    "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "RootMeanSquaredError",
    "CosineSimilarity", "LogCoshError", "cosine_similarity", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
    "KLDivergence", "Poisson", "Precision", "Recall", "AUC", "TruePositives", "FalsePositives",
    "TrueNegatives", "FalseNegatives", "get", "serialize", "deserialize", "CategoricalHinge",
    "F1Score", "FBetaScore", "MeanIoU", "R2Score"]
