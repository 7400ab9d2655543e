"""Optimizers by Keras name: ``get("adam")``, the classes themselves and ``schedules``."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.optimizers import schedules
from savepoint.optimizers.adam import Adam
from savepoint.optimizers.adamw import AdamW
from savepoint.optimizers.base import Optimizer
from savepoint.optimizers.rmsprop import RMSprop
from savepoint.optimizers.sgd import SGD
from savepoint.optimizers.adadelta import Adadelta  # noqa: E402
from savepoint.optimizers.adagrad import Adagrad  # noqa: E402
from savepoint.optimizers.adamax import Adamax  # noqa: E402
from savepoint.optimizers.ftrl import Ftrl  # noqa: E402
from savepoint.optimizers.nadam import Nadam  # noqa: E402
from savepoint.optimizers import legacy  # noqa: E402
from savepoint import serialization
from savepoint.serialization import builtin_objects


def get(identifier: Any) -> Optimizer:
    """Resolve ``"adam"``, a config dict or an instance to an optimizer.

    Example:
        >>> type(get("rmsprop")).__name__
        'RMSprop'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        table = {k.lower(): v for k, v in builtin_objects("optimizers").items()}
        cls = table.get(identifier.lower())
        if cls is None:
            raise ConfigError(f"Unknown optimizer '{identifier}'. Expected one of: "
                              f"{sorted(table)} or an Optimizer instance.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ConfigError(f"Expected an optimizer name, config or instance. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


def serialize(optimizer: Optimizer) -> dict:
    """An optimizer -> its Keras-shaped config dict.

    Example:
        >>> serialize(SGD())["class_name"]
        'SGD'
    """
    return serialization.serialize(optimizer)


def deserialize(config: Any, custom_objects: dict | None = None) -> Optimizer:
    """A Keras-shaped config dict -> a new optimizer (schedules inside are rebuilt too).

    Example:
        >>> deserialize(serialize(Adam(learning_rate=0.01))).learning_rate
        0.01
    """
    optimizer = serialization.deserialize(config, "optimizers", custom_objects)
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(f"Expected an optimizer config. Received a config for "
                          f"{type(optimizer).__name__}: {config!r}.")
    return optimizer


__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Optimizer", "schedules", "get", "serialize",
           "deserialize", "Adadelta", "Adagrad", "Adamax", "Ftrl", "Nadam", "legacy"]
