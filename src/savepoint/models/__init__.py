"""Models: ``Sequential``, functional and subclassed ``Model``, ``load_model``, ``clone_model``."""

from __future__ import annotations

from typing import Any

from savepoint.models.model import Model
from savepoint.models.sequential import Sequential


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a model saved with ``model.save`` (directory, ``.h5`` or ``.keras``).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "m")
        >>> keras.Sequential([keras.layers.Dense(2, input_shape=(3,))]).save(path)
        >>> keras.models.load_model(path).count_params()
        8
    """
    from savepoint.saving.api import model_api
    return model_api.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                safe_mode=safe_mode)


def save_model(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
               save_format: str | None = None, signatures: Any = None, options: Any = None,
               save_traces: bool = True) -> None:
    """``keras.models.save_model(model, path)``: the same as ``model.save(path, ...)``.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save_model(m, os.path.join(tempfile.mkdtemp(), "m.keras"))
    """
    from savepoint.saving.api import model_api
    model_api.save_model(model, filepath, overwrite=overwrite,
                         include_optimizer=include_optimizer, save_format=save_format,
                         signatures=signatures, options=options)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Any:
    """A new model (fresh weights) from ``model.to_json()`` text, ours or tf.keras 2's.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> model_from_json(m.to_json()).layers[0].units
        2
    """
    import json
    from savepoint.errors import ConfigError
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError, RecursionError) as e:
        raise ConfigError(f"model_from_json expected the JSON text of model.to_json(). "
                          f"Received text that does not parse ({type(e).__name__}: "
                          f"{str(e)[:200]}).") from e
    return model_from_config(config, custom_objects=custom_objects)


def model_from_config(config: dict, custom_objects: dict | None = None) -> Any:
    """A new model from a tf.keras 2 ``{"class_name", "config"}`` model config.

    Example:
        >>> import json, savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> model_from_config(json.loads(m.to_json())).count_params()
        8
    """
    from savepoint.saving.api.configs import from_keras2_config
    return from_keras2_config(config, custom_objects)


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None) -> Model:
    """A new model with the same architecture and freshly initialized weights.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> clone_model(m).count_params()
        8
    """
    from savepoint.errors import ConfigError
    from savepoint.saving.api.configs import clone_architecture
    if input_tensors is not None or clone_function is not None:
        raise ConfigError("clone_model supports only the model argument here: input_tensors "
                          "and clone_function are not implemented.")
    return clone_architecture(model)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_config",
           "model_from_json", "save_model"]
