"""``keras.utils``'s names for the custom-object registry (``register_keras_serializable``,
``custom_object_scope``, ``get_custom_objects``, ``get_registered_name``/``_object``)."""

from __future__ import annotations

from typing import Any

from savepoint.serialization import (custom_object_scope, deserialize,
                                            get_custom_objects, register_serializable,
                                            serialize)

register_keras_serializable = register_serializable
CustomObjectScope = custom_object_scope
serialize_keras_object = serialize


def deserialize_keras_object(config: Any, module_objects: dict | None = None,
                             custom_objects: dict | None = None,
                             printable_module_name: str = "object") -> Any:
    """A Keras-shaped config -> a new object (classes resolved through the registry and
    ``custom_objects`` only).

    Example:
        >>> from savepoint.layers import Dense
        >>> type(deserialize_keras_object(serialize_keras_object(Dense(2)))).__name__
        'Dense'
    """
    objects = dict(module_objects or {}, **(custom_objects or {}))
    kind = "layers" if printable_module_name in ("object", "layer") else printable_module_name
    return deserialize(config, kind, objects or None)


def get_registered_name(obj: Any) -> str:
    """``"package>name"`` for a registered class (or function), else its own name.

    Example:
        >>> get_registered_name(dict)
        'dict'
    """
    for key, value in get_custom_objects().items():
        if value is obj:
            return key
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """The object registered (or passed) under ``name``, or ``None``.

    Example:
        >>> get_registered_object("Nope>Missing") is None
        True
    """
    for table in (custom_objects or {}, get_custom_objects(), module_objects or {}):
        if name in table:
            return table[name]
    return None


__all__ = ["register_keras_serializable", "custom_object_scope", "CustomObjectScope",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "serialize_keras_object", "deserialize_keras_object"]
