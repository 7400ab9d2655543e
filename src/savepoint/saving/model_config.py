"""A model's architecture and compile settings as Keras-shaped JSON, and back (no code runs).

The architecture is ``serialize(model)`` (``class_name``/``config``/``module``/
``registered_name``, layers nested the same way); the compile config records the optimizer (with
its hyper-parameters), losses, metrics and loss weights as configs or names. Format modules
translate this native shape to Keras 2 (``.h5``) or Keras 3 (``.keras``) dialects.

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> m.compile("adam", "mse")
    >>> rebuilt = model_from_config(model_to_config(m))
    >>> compile_from_config(rebuilt, compile_config(m)); type(rebuilt.optimizer).__name__
    'Adam'
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError, SavepointError, UnknownObjectError
from savepoint.saving.serialization import deserialize, serialize


def model_to_config(model: Any) -> dict:
    """The architecture of ``model`` (a built Sequential, functional or registered subclass)."""
    config = serialize(model)
    build_shape = getattr(model, "_batch_input_shape", None) or getattr(
        model, "_build_input_shape", None)
    if build_shape is not None:
        config["build_config"] = {"input_shape": _jsonable(build_shape)}
    return config


def model_from_config(config: dict, custom_objects: dict | None = None,
                      initialize: bool = True) -> Any:
    """Rebuild a model from ``model_to_config`` output; classes resolve only through built-ins,
    registrations, ``custom_object_scope`` and ``custom_objects``. ``initialize=False`` leaves
    the weights uninitialized, for loaders that then assign every one of them."""
    if not initialize:
        from savepoint.layers.base import skip_initializers
        with skip_initializers():
            return model_from_config(config, custom_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"Expected a model config with 'class_name' and 'config'. Received "
                          f"{type(config).__name__}: {str(config)[:200]!r}.")
    try:
        cls_config = {k: v for k, v in config.items() if k != "build_config"}
        model = _deserialize_model(cls_config, custom_objects)
        build = config.get("build_config")
        if build and not model.built and build.get("input_shape") is not None:
            model.build(_shape(build["input_shape"]))
    except SavepointError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as e:
        # A file's config is untrusted input: a malformed one is a ConfigError, never a crash.
        raise ConfigError(f"Expected a valid model config. Received one that cannot be rebuilt "
                          f"({type(e).__name__}: {str(e)[:200]}). Fix: re-save the model, or "
                          f"check its custom classes' from_config.") from e
    return model


def _deserialize_model(config: dict, custom_objects: dict | None) -> Any:
    from savepoint.saving.serialization import resolve_class
    name = config.get("registered_name") or config["class_name"]
    try:
        cls = resolve_class(name, "layers", custom_objects)
    except UnknownObjectError:
        cls = resolve_class(config["class_name"], "layers", custom_objects)
    inner = config.get("config", {})
    if hasattr(cls, "from_config"):
        try:
            return cls.from_config(inner, custom_objects=custom_objects)
        except TypeError:
            return cls.from_config(inner)
    return cls(**inner)


def compile_config(model: Any) -> dict | None:
    """What ``compile`` was given, as JSON-able configs (``None`` if never compiled)."""
    if not getattr(model, "compiled", False):
        return None
    given = model._compile_config
    return {"optimizer": serialize(model.optimizer),
            "loss": _serialize_loss(given.get("loss")),
            "metrics": _serialize_metrics(given.get("metrics")),
            "loss_weights": given.get("loss_weights")}


def compile_from_config(model: Any, config: dict | None,
                        custom_objects: dict | None = None) -> None:
    """Compile ``model`` as described by ``compile_config`` output (optimizer state is restored
    separately, by the format that stored it)."""
    if not config:
        return
    optimizer = deserialize(config["optimizer"], "optimizers", custom_objects) \
        if isinstance(config.get("optimizer"), dict) else config.get("optimizer", "rmsprop")
    model.compile(optimizer=optimizer,
                  loss=_deserialize_loss(config.get("loss"), custom_objects),
                  metrics=_deserialize_metrics(config.get("metrics"), custom_objects),
                  loss_weights=config.get("loss_weights"))


def _serialize_loss(loss: Any) -> Any:
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [_serialize_loss(x) for x in loss]
    if isinstance(loss, dict):
        return {k: _serialize_loss(v) for k, v in loss.items()}
    if hasattr(loss, "get_config"):
        return serialize(loss)
    name = getattr(loss, "__name__", None)
    if name is None:
        raise ConfigError(f"Cannot save the loss {loss!r}: expected a name, a Loss object or a "
                          f"registered function.")
    return name


def _serialize_metrics(metrics: Any) -> Any:
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, (list, tuple)):
        return [_serialize_metrics(m) for m in metrics]
    if isinstance(metrics, dict):
        return {k: _serialize_metrics(v) for k, v in metrics.items()}
    return _serialize_loss(metrics)


def _deserialize_loss(value: Any, custom_objects: dict | None) -> Any:
    if isinstance(value, list):
        return [_deserialize_loss(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_loss(v, custom_objects) for k, v in value.items()}
    if isinstance(value, dict):
        return deserialize(value, "losses", custom_objects)
    if isinstance(value, str) and custom_objects and value in custom_objects:
        return custom_objects[value]
    return value


def _deserialize_metrics(value: Any, custom_objects: dict | None) -> Any:
    if isinstance(value, list):
        return [_deserialize_metrics(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_metrics(v, custom_objects) for k, v in value.items()}
    if isinstance(value, dict):
        return deserialize(value, "metrics", custom_objects)
    if isinstance(value, str) and custom_objects and value in custom_objects:
        return custom_objects[value]
    return value


def _jsonable(shape: Any) -> Any:
    if isinstance(shape, (list, tuple)):
        return [_jsonable(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _jsonable(v) for k, v in shape.items()}
    return shape


def _shape(value: Any) -> Any:
    if isinstance(value, list) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value
