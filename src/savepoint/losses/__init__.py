"""Losses by Keras name: ``get("sparse_categorical_crossentropy")`` and the classes."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.losses.base import Loss, LossFunctionWrapper
from savepoint.losses.probabilistic import (BinaryCrossentropy, CategoricalCrossentropy,
                                            SparseCategoricalCrossentropy, binary_crossentropy,
                                            categorical_crossentropy,
                                            sparse_categorical_crossentropy)
from savepoint.losses.regression import (KLD, MAE, MAPE, MSE, MSLE, CosineSimilarity, Hinge,
                                         Huber, KLDivergence, LogCosh, MeanAbsoluteError,
                                         MeanAbsolutePercentageError, MeanSquaredError,
                                         MeanSquaredLogarithmicError, Poisson, SquaredHinge,
                                         cosine_similarity, hinge, huber, kl_divergence, kld,
                                         kullback_leibler_divergence, log_cosh, logcosh, mae,
                                         mape, mean_absolute_error,
                                         mean_absolute_percentage_error, mean_squared_error,
                                         mean_squared_logarithmic_error, mse, msle, poisson,
                                         squared_hinge)
from savepoint.losses.categorical_hinge import CategoricalHinge, categorical_hinge
from savepoint.losses.focal import BinaryFocalCrossentropy, binary_focal_crossentropy
from savepoint import serialization as _serialization
from savepoint.serialization import builtin_objects, serialize


def get(identifier: Any) -> Loss:
    """Resolve a loss name, config, ``Loss`` or plain function to a ``Loss``.

    Example:
        >>> get("sparse_categorical_crossentropy").name
        'sparse_categorical_crossentropy'
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = builtin_objects("losses").get(identifier)
        if cls is None:
            names = sorted(k for k in builtin_objects("losses") if k.islower())
            raise ConfigError(f"Unknown loss '{identifier}'. Expected one of: {names} (or a "
                              f"class name such as 'MeanSquaredError'), a Loss instance or a "
                              f"function (y_true, y_pred).")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ConfigError(f"Expected a loss name, Loss instance or function. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Loss:
    """A loss config (from ``serialize``) or class name -> a new ``Loss``.

    Example:
        >>> deserialize({"class_name": "Huber", "config": {}}).name
        'huber_loss'
    """
    return _serialization.deserialize(config, "losses", custom_objects)


__all__ = [
    "Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy", "CategoricalCrossentropy",
    "BinaryCrossentropy", "sparse_categorical_crossentropy", "categorical_crossentropy",
    "binary_crossentropy", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber", "LogCosh",
    "CosineSimilarity", "Hinge", "SquaredHinge", "KLDivergence", "Poisson",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "logcosh", "cosine_similarity",
    "hinge", "squared_hinge", "kl_divergence", "kld", "KLD", "kullback_leibler_divergence",
    "poisson", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "get", "serialize",
    "deserialize", "BinaryFocalCrossentropy", "binary_focal_crossentropy", "CategoricalHinge",
    "categorical_hinge"]
