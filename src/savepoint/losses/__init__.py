"""Losses by Keras name: ``get("sparse_categorical_crossentropy")`` and the classes."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.losses.base import Loss, LossFunctionWrapper
from savepoint.losses.probabilistic import (BinaryCrossentropy, CategoricalCrossentropy,
                                            SparseCategoricalCrossentropy, binary_crossentropy,
                                            categorical_crossentropy,
                                            sparse_categorical_crossentropy)
from savepoint.saving.serialization import builtin_objects, deserialize, serialize


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
            names = sorted(k for k in builtin_objects("losses") if k.islower() or "_" in k)
            raise ConfigError(f"Unknown loss '{identifier}'. Expected one of: {names}, a Loss "
                              f"instance or a function (y_true, y_pred).")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier, "losses")
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ConfigError(f"Expected a loss name, Loss instance or function. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


__all__ = ["Loss", "LossFunctionWrapper", "SparseCategoricalCrossentropy",
           "CategoricalCrossentropy", "BinaryCrossentropy", "sparse_categorical_crossentropy",
           "categorical_crossentropy", "binary_crossentropy", "get", "serialize", "deserialize"]
