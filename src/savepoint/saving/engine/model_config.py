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
from savepoint.serialization import deserialize, serialize


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
    check_declared_sizes(config)
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
    except (MemoryError, RuntimeError) as e:
        # Sizes within the caps can still exceed this machine (torch's allocator raises
        # RuntimeError): the config asks for more than there is, it does not crash the caller.
        raise ConfigError(f"Expected a model config whose layers fit in memory. Received one "
                          f"that cannot be built here ({type(e).__name__}: {str(e)[:200]}). "
                          f"Fix: load it on a machine with more memory, or check the file's "
                          f"layer sizes.") from e
    return model


MAX_DIM = (1 << 31) - 1         # one dimension of a layer (units, filters, a shape entry ...)
MAX_SHAPE_ELEMENTS = 1 << 31    # elements of one declared input or target shape
# Config keys holding one size or a shape; a custom layer's other keys are checked where its
# weights are created (``Layer.add_weight``).
_SIZE_KEYS = frozenset({"units", "filters", "input_dim", "output_dim", "kernel_size",
                        "pool_size", "strides", "dilation_rate", "input_length", "size"})
_SHAPE_KEYS = frozenset({"batch_input_shape", "input_shape", "batch_shape", "shape",
                         "target_shape"})


def check_declared_sizes(config: Any, layer: str = "model", depth: int = 0) -> None:
    """Refuse, with a ``ConfigError`` naming the layer and the number, a config whose sizes
    or shapes no machine could allocate, before any layer is built (``units=10**12`` would
    otherwise reach torch's allocator). Walks nested layer configs.

    Example:
        >>> check_declared_sizes({"class_name": "Dense", "config": {"name": "d", "units": 10**12}})
        Traceback (most recent call last):
        savepoint.errors.ConfigError: Expected sizes of at most 2147483647 in layer 'd'. Received units=1000000000000. Fix: check the file's config; it is damaged or hostile.
    """
    if depth > 200:  # deeper than any model: deserialization refuses it as a RecursionError
        return
    if isinstance(config, list):
        for item in config:
            check_declared_sizes(item, layer, depth + 1)
        return
    if not isinstance(config, dict):
        return
    if isinstance(config.get("config"), dict) and isinstance(config.get("config", {}).get("name"),
                                                             str):
        layer = config["config"]["name"]
    for key, value in config.items():
        if key in _SIZE_KEYS:
            _check_dims(layer, key, value if isinstance(value, (list, tuple)) else [value])
        elif key in _SHAPE_KEYS and isinstance(value, (list, tuple)):
            _check_shape(layer, key, value)
        elif isinstance(value, (dict, list)):
            check_declared_sizes(value, layer, depth + 1)


def _check_dims(layer: str, key: str, values: Any) -> None:
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_DIM:
            raise ConfigError(f"Expected sizes of at most {MAX_DIM} in layer {layer!r}. Received "
                              f"{key}={v}. Fix: check the file's config; it is damaged or "
                              f"hostile.")


def _check_shape(layer: str, key: str, shape: Any) -> None:
    if any(isinstance(d, (list, tuple)) for d in shape):  # several inputs
        for inner in shape:
            if isinstance(inner, (list, tuple)):
                _check_shape(layer, key, inner)
        return
    _check_dims(layer, key, shape)
    count = 1
    for d in shape:
        count *= d if isinstance(d, int) and not isinstance(d, bool) and d > 0 else 1
    if count > MAX_SHAPE_ELEMENTS:
        raise ConfigError(f"Expected a shape of at most {MAX_SHAPE_ELEMENTS} elements in layer "
                          f"{layer!r}. Received {key}={list(shape)} ({count} elements). Fix: "
                          f"check the file's config; it is damaged or hostile.")


def _deserialize_model(config: dict, custom_objects: dict | None) -> Any:
    from savepoint.serialization import resolve_class
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
            "weighted_metrics": _serialize_metrics(given.get("weighted_metrics")),
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
                  weighted_metrics=_deserialize_metrics(config.get("weighted_metrics"),
                                                        custom_objects),
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
