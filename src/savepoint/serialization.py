"""Objects <-> Keras-shaped JSON configs, resolving classes only through known registries.

A config is ``{"module": ..., "class_name": ..., "config": {...}, "registered_name": ...}``, the
shape Keras 3 writes. Classes are found in ``custom_objects``, an active ``custom_object_scope``,
``register_serializable`` registrations and built-ins, never by importing a module named in a file.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

from savepoint.errors import UnknownObjectError

_BUILTINS: dict[str, dict[str, Any]] = {}
_REGISTERED: dict[str, Any] = {}
_SCOPE = threading.local()


def builtin(category: str, *aliases: str) -> Callable:
    """Class decorator that makes a savepoint class resolvable by name in ``category``."""
    def wrap(obj):
        table = _BUILTINS.setdefault(category, {})
        table[obj.__name__] = obj
        for alias in aliases:
            table[alias] = obj
        return obj
    return wrap


def builtin_objects(category: str) -> dict[str, Any]:
    """The built-in names of one category (``"layers"``, ``"optimizers"`` ...)."""
    return dict(_BUILTINS.get(category, {}))


def register_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Register a custom class so configs can name it as ``"package>name"``.

    Example:
        >>> @register_serializable(package="my_pkg")
        ... class Scale:
        ...     def get_config(self): return {}
        >>> "my_pkg>Scale" in get_custom_objects()
        True
    """
    def wrap(obj):
        key = f"{package}>{name or obj.__name__}"
        _REGISTERED[key] = obj
        obj._registered_name = key
        return obj
    return wrap


def get_custom_objects() -> dict[str, Any]:
    """The registered custom objects, keyed ``"package>name"`` (a live dict, as in Keras)."""
    return _REGISTERED


@contextlib.contextmanager
def custom_object_scope(objects: dict[str, Any]) -> Iterator[None]:
    """Make ``objects`` resolvable by name while the block runs.

    Example:
        >>> with custom_object_scope({"Scale": object}):
        ...     pass
    """
    stack = getattr(_SCOPE, "stack", [])
    _SCOPE.stack = stack + [dict(objects)]
    try:
        yield
    finally:
        _SCOPE.stack = stack


@contextlib.contextmanager
def safe_mode_scope(safe_mode: bool | None) -> Iterator[None]:
    """While the block runs, refuse (``True``) or allow (``False``) deserializing code, such as a
    ``Lambda`` layer's marshalled function; ``load_model(safe_mode=...)`` opens one.

    Example:
        >>> with safe_mode_scope(True):
        ...     in_safe_mode()
        True
    """
    outer = getattr(_SCOPE, "safe_mode", None)
    _SCOPE.safe_mode = safe_mode
    try:
        yield
    finally:
        _SCOPE.safe_mode = outer


def in_safe_mode() -> bool | None:
    """The innermost ``safe_mode_scope`` value (``None`` outside any: code may be loaded).

    Example:
        >>> in_safe_mode() is None
        True
    """
    return getattr(_SCOPE, "safe_mode", None)


def registered_name(obj: Any) -> str:
    """The name a config stores for ``obj``'s class (``"pkg>Name"`` when registered)."""
    cls = obj if isinstance(obj, type) else type(obj)
    key = cls.__dict__.get("_registered_name")
    return key or cls.__name__


def serialize(obj: Any) -> Any:
    """An object with ``get_config`` -> its Keras-shaped config dict; plain values pass through.

    Example:
        >>> serialize(None) is None
        True
    """
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize(o) for o in obj]
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    if not hasattr(obj, "get_config"):
        raise UnknownObjectError(
            f"Expected an object with get_config() to serialize. Received {obj!r} of type "
            f"{type(obj).__name__}. Give the class get_config()/from_config().")
    cls = type(obj)
    return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
            "registered_name": registered_name(obj)}


def resolve_class(name: str, category: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Find the class ``name`` in custom objects, scopes, registrations, then built-ins."""
    for table in [custom_objects or {}, *reversed(getattr(_SCOPE, "stack", []))]:
        if name in table:
            return table[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    short = name.split(">")[-1]
    for table in [custom_objects or {}, *reversed(getattr(_SCOPE, "stack", []))]:
        if short in table:
            return table[short]
    found = _BUILTINS.get(category, {}).get(name)
    if found is None:
        error = UnknownObjectError(
            f"Could not locate {_singular(category)} "
            f"'{name}'. Expected a built-in savepoint {category} name or a custom class. "
            f"Pass it as custom_objects={{'{short}': {short}}}, use custom_object_scope, or "
            f"decorate the class with @savepoint.saving.register_serializable().")
        error.object_name = short
        raise error
    return found


def _singular(category: str) -> str:
    return "loss" if category == "losses" else category[:-1] if category.endswith("s") \
        else category


def deserialize(config: Any, category: str = "layers",
                custom_objects: dict[str, Any] | None = None) -> Any:
    """A Keras-shaped config dict (or a bare class name) -> a new object built by ``from_config``.

    Example:
        >>> deserialize(None) is None
        True
    """
    if config is None:
        return None
    if isinstance(config, str):
        cls = resolve_class(config, category, custom_objects)
        return cls()
    if not isinstance(config, dict) or "class_name" not in config:
        raise UnknownObjectError(
            f"Expected a config dict with 'class_name' and 'config'. Received: {config!r}.")
    name = config.get("registered_name") or config["class_name"]
    try:
        cls = resolve_class(name, category, custom_objects)
    except UnknownObjectError:
        if name == config["class_name"]:
            raise
        cls = resolve_class(config["class_name"], category, custom_objects)
    inner = config.get("config", {})
    if hasattr(cls, "from_config"):
        return cls.from_config(inner)
    return cls(**inner)
