"""Metrics by Keras name: ``get("accuracy", loss=...)`` and the classes."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                        SparseCategoricalAccuracy, binary_accuracy,
                                        categorical_accuracy, sparse_categorical_accuracy)
from savepoint.metrics.base import Mean, MeanMetricWrapper, Metric, Reduce, Sum
from savepoint.saving.serialization import builtin_objects, deserialize, serialize

_ACCURACY_FOR_LOSS = {
    "SparseCategoricalCrossentropy": SparseCategoricalAccuracy,
    "CategoricalCrossentropy": CategoricalAccuracy,
    "BinaryCrossentropy": BinaryAccuracy,
}


def get(identifier: Any, loss: Any = None) -> Metric:
    """Resolve a metric name, config, instance or function; ``"accuracy"``/``"acc"`` picks the
    accuracy that fits ``loss`` as Keras does, keeping the name the user wrote.

    Example:
        >>> type(get("sparse_categorical_accuracy")).__name__
        'SparseCategoricalAccuracy'
    """
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        cls = _ACCURACY_FOR_LOSS.get(type(loss).__name__, SparseCategoricalAccuracy
                                     if loss is None else BinaryAccuracy)
        return cls(name=identifier)
    if isinstance(identifier, str):
        cls = builtin_objects("metrics").get(identifier)
        if cls is None:
            names = sorted(k for k in builtin_objects("metrics") if "_" in k or k.islower())
            raise ConfigError(f"Unknown metric '{identifier}'. Expected one of: "
                              f"{['accuracy'] + names}, a Metric instance or a function.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier, "metrics")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ConfigError(f"Expected a metric name, Metric instance or function. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


__all__ = ["Metric", "Mean", "Sum", "Reduce", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "get", "serialize",
           "deserialize"]
