"""Optimizers by Keras name: ``get("adam")`` and the classes themselves."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.optimizers.adam import Adam
from savepoint.optimizers.base import Optimizer
from savepoint.saving.serialization import builtin_objects, deserialize, serialize


def get(identifier: Any) -> Optimizer:
    """Resolve ``"adam"``, a config dict or an instance to an optimizer.

    Example:
        >>> type(get("adam")).__name__
        'Adam'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        table = {k.lower(): v for k, v in builtin_objects("optimizers").items()}
        cls = table.get(identifier.lower())
        if cls is None:
            raise ConfigError(f"Unknown optimizer '{identifier}'. Expected one of: "
                              f"{sorted(set(k for k in table if k.islower()))} or an "
                              f"Optimizer instance.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier, "optimizers")
    raise ConfigError(f"Expected an optimizer name, config or instance. Received: "
                      f"{identifier!r} of type {type(identifier).__name__}.")


__all__ = ["Adam", "Optimizer", "get", "serialize", "deserialize"]
