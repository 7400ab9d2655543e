"""The whole-model pipeline every model format shares: built? config -> JSON, rebuild under
safe mode and the caller's custom objects, compile, and the "not compiled" warning.

A handler reads its own bytes and config dialect, then hands the native config here, so that
every format refuses and words the same failures the same way.

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> require_built(m); check_json({"a": 1})
    >>> rebuild(model_config(m), None, "m.h5").built
    True
"""

from __future__ import annotations

import contextlib
import json
import warnings
from typing import Any, Iterator

from savepoint.errors import (ConfigError, FormatError, NotBuiltError, SavepointError,
                              UnknownObjectError)


def require_built(model: Any) -> None:
    """Refuse to save a model whose weights do not exist yet.

    Example:
        >>> import savepoint as keras
        >>> require_built(keras.Sequential([keras.layers.Dense(2)]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.NotBuiltError: Model '...' cannot be saved before it is built: ...
    """
    if not getattr(model, "built", False):
        raise NotBuiltError(
            f"Model '{model.name}' cannot be saved before it is built: its weights do not exist "
            f"yet. Call it on a batch of data, call build(input_shape), or give the first layer "
            f"an input_shape.")


def check_json(config: Any) -> None:
    """Refuse a config that JSON cannot hold, naming the culprit's fix.

    Example:
        >>> check_json({"units": object()})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.ConfigError: The model's config is not JSON-serializable ...
    """
    try:
        json.dumps(config)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"The model's config is not JSON-serializable ({e}). Expected get_config() of every "
            f"custom layer/model to return plain values (str, int, float, bool, None, lists, "
            f"dicts). Fix the get_config() that returns this value.") from None


def model_config(model: Any) -> dict:
    """The model's native (savepoint) config.

    Example:
        >>> import savepoint as keras
        >>> model_config(keras.Sequential([keras.layers.Dense(2, input_shape=(3,))]))["class_name"]
        'Sequential'
    """
    from savepoint.saving.engine.model_config import model_to_config
    return model_to_config(model)


@contextlib.contextmanager
def loading_scope(safe_mode: bool, custom_objects: dict | None) -> Iterator[None]:
    """Safe mode and the caller's custom objects for everything a load deserializes.

    Example:
        >>> with loading_scope(True, None):
        ...     pass
    """
    from savepoint.serialization import custom_object_scope, safe_mode_scope
    with safe_mode_scope(safe_mode), custom_object_scope(custom_objects or {}):
        yield


def rebuild(config: dict, custom_objects: dict | None, where: str,
            compile_config: dict | None = None, build_input_shape: Any = None) -> Any:
    """Build the model ``config`` describes (and compile it with ``compile_config``); a config
    that does not describe a buildable model raises ``FormatError`` naming ``where``. A model
    the config leaves unbuilt (subclassed) is built for ``build_input_shape`` when the file
    recorded one (a tf.keras SavedModel does).

    Example:
        >>> rebuild({}, None, "m.h5")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.ConfigError: Expected a model config with 'class_name' and 'config'...
    """
    from savepoint.saving.engine.model_config import compile_from_config, model_from_config
    try:
        model = model_from_config(config, custom_objects, initialize=False)
        if not getattr(model, "built", False) and build_input_shape is not None:
            model.build(build_input_shape)
        if compile_config:
            compile_from_config(model, compile_config, custom_objects)
    except UnknownObjectError as e:
        error = UnknownObjectError(f"{e} (while loading {where!r}; savepoint never imports "
                                   f"modules named in a file.)")
        error.object_name = getattr(e, "object_name", None)
        raise error from None
    except SavepointError:
        raise
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as e:
        raise FormatError(f"The model config in {where!r} does not describe a model savepoint "
                          f"can build ({type(e).__name__}: {e}). Fix: save the model again, or "
                          f"check the get_config()/from_config() of its custom classes."
                          ) from None
    if not getattr(model, "built", False):
        raise NotBuiltError(f"The model in {where!r} was rebuilt from its config but has no "
                            f"weights yet (no input shape recorded: a subclassed model saved "
                            f"unbuilt). Fix: build the model before saving it.")
    return model


def warn_not_compiled() -> None:
    """Keras's warning for ``load_model(compile=True)`` of a file without a training config.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always"); warn_not_compiled()
        >>> "not* compiled" in str(caught[0].message)
        True
    """
    warnings.warn("No training configuration found in the save file, so the model was *not* "
                  "compiled. Compile it manually.", stacklevel=4)


__all__ = ["check_json", "loading_scope", "model_config", "rebuild", "require_built",
           "warn_not_compiled"]
