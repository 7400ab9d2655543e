"""Model configs as users see them: tf.keras 2 JSON (``to_json``/``model_from_json``/
``model_from_config``), the native config ``clone_model`` rebuilds from, and the options
``save_weights`` resolves. The models package reaches saving only through ``saving.api``.

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> from_keras2_config(to_keras2_config(m)).count_params()
    8
"""

from __future__ import annotations

from typing import Any

from savepoint.saving import options as options_lib
from savepoint.saving.engine.model_config import model_from_config, model_to_config
from savepoint.saving.handlers.h5_weights import KERAS2_BACKEND, KERAS2_VERSION
from savepoint.saving.mapping.dialects import keras2


def to_keras2_config(model: Any) -> dict:
    """The model's config in tf.keras 2's dialect, with its ``keras_version``/``backend``.

    Example:
        >>> import savepoint as keras
        >>> to_keras2_config(keras.Sequential([keras.layers.Dense(2, input_shape=(3,))]))["backend"]
        'tensorflow'
    """
    return {**keras2.model_to_keras2(model_to_config(model)), "keras_version": KERAS2_VERSION,
            "backend": KERAS2_BACKEND}


def from_keras2_config(config: Any, custom_objects: dict | None = None) -> Any:
    """A new model (fresh weights) from a tf.keras 2 ``{"class_name", "config"}`` config.

    Example:
        >>> from_keras2_config({"class_name": "Sequential", "config": {"layers": [
        ...     {"class_name": "Dense", "config": {"units": 2, "batch_input_shape": [None, 3]}}]}
        ...     }).count_params()
        8
    """
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k not in ("keras_version", "backend")}
    return model_from_config(keras2.model_from_keras2(config), custom_objects)


def clone_architecture(model: Any) -> Any:
    """A new model with ``model``'s architecture and freshly initialized weights.

    Example:
        >>> import savepoint as keras
        >>> clone_architecture(keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])).built
        True
    """
    return model_from_config(model_to_config(model))


def resolve_options(options: Any, save_async: Any = None) -> Any:
    """``save_weights``' ``options``/``save_async`` as one ``CheckpointOptions``.

    Example:
        >>> resolve_options(None, True).enable_async
        True
    """
    return options_lib.resolve(options, save_async)


__all__ = ["clone_architecture", "from_keras2_config", "resolve_options", "to_keras2_config"]
