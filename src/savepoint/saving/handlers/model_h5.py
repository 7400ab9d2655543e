"""The Keras 2 HDF5 whole model: ``model.save("my_model.h5")`` and its ``load_model``.

Layout (what tf-keras 2.21 writes, so ``tf.keras.models.load_model`` opens it and savepoint
opens tf-keras's files): root attributes ``backend``, ``keras_version``, ``model_config`` and
``training_config`` (JSON in tf.keras 2's dialect, see ``dialects.keras2``); group
``model_weights`` (``h5_weights``' Keras 2 layout); group ``optimizer_weights`` with attribute
``weight_names`` (``iteration:0``, ``Adam/m/dense/kernel:0`` ...) and one dataset per optimizer
variable, restored by position as tf-keras does. Arrays stream into and out of the file.

Loading checks the version, parses and translates the configs, rebuilds the model only through
built-ins, registrations, ``custom_object_scope`` and ``custom_objects`` (no module named in the
file is imported), and validates every weight and optimizer dataset before assigning; a failure
raises a ``SavepointError`` and returns no model.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.h5"); save(m, path, True)
    >>> load(path, compile=False).layers[0].units
    2
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from savepoint.errors import FormatError, SavepointError
from savepoint.saving import registry, storage
from savepoint.saving.engine import whole_model
from savepoint.saving.formats.h5 import H5Reader, H5Writer
from savepoint.saving.handlers import h5_weights, verification
from savepoint.saving.mapping.dialects import keras2

KERAS_VERSION = h5_weights.KERAS2_VERSION
BACKEND = h5_weights.KERAS2_BACKEND
OPTIMIZER_GROUP = "optimizer_weights"
MAX_CONFIG_CHARS = 64 * 1024 * 1024


# ----- save ---------------------------------------------------------------------------------
def save(model: Any, path: str, include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile config, optimizer state) as a Keras 2
    ``.h5`` file at ``path``, replacing it atomically."""
    from savepoint.saving.engine.model_config import compile_config
    path = os.fspath(path)
    whole_model.require_built(model)
    attrs = {"backend": BACKEND, "keras_version": KERAS_VERSION,
             "model_config": _dumps(keras2.model_to_keras2(whole_model.model_config(model)))}
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    training = keras2.training_to_keras2(compile_config(model)) if optimizer else None
    if training is not None:
        attrs["training_config"] = _dumps(training)
    with H5Writer(path) as writer:
        writer.set_attrs("", attrs)
        h5_weights.write_h5_weights(writer, model, path, root="model_weights")
        if training is not None:
            _write_optimizer(writer, optimizer, training["optimizer_config"]["config"]["name"])


def _dumps(config: dict) -> bytes:
    whole_model.check_json(config)
    return json.dumps(config).encode("utf-8")


def _write_optimizer(writer: H5Writer, optimizer: Any, name: str) -> None:
    variables = list(optimizer.variables)
    kind = type(optimizer).__name__
    names = [keras2.slot_name_out(kind, v.path, name) for v in variables]
    writer.set_attrs(OPTIMIZER_GROUP, {"weight_names": [n.encode("utf-8") for n in names]})
    for var, weight_name in zip(variables, names):
        writer.write_array(OPTIMIZER_GROUP, weight_name, h5_weights._host(var))


# ----- load ---------------------------------------------------------------------------------
def load(path: str, custom_objects: dict | None = None, compile: bool = True,
         safe_mode: bool = True) -> Any:
    """Load a Keras 2 ``.h5`` model written by savepoint or tf.keras (see the module docstring).

    Example:
        >>> load("/nonexistent/m.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    path = os.fspath(path)
    with H5Reader(path) as reader:
        model_config, training = _read_configs(reader)
        compiled = compile and training is not None
        with whole_model.loading_scope(safe_mode, custom_objects):
            model = whole_model.rebuild(model_config, custom_objects, path,
                                        training if compiled else None)
        slots = _read_optimizer(reader, model) if compiled else None
    h5_weights.load_h5(model, path)
    if slots:
        for var, value in zip(model.optimizer.variables, slots):
            var.assign(value)
    if compile and training is None:
        whole_model.warn_not_compiled()
    return model


def _read_configs(reader: H5Reader) -> tuple[dict, dict | None]:
    path = reader.path
    version, backend = reader.attr("", "keras_version"), reader.attr("", "backend")
    if reader.attr("", "model_config") is None:
        hint = (" It holds weights only (model.save_weights): build the model in code and call "
                "load_weights." if reader.attr("", "layer_names") is not None else "")
        raise FormatError(f"No model config found in the file at {path!r}: expected a root "
                          f"attribute 'model_config' (a Keras 2 .h5 model).{hint}")
    _check_version(version, path)
    if backend != BACKEND:
        raise FormatError(f"HDF5 model {path!r} was saved with backend {backend!r}; savepoint "
                          f"reads Keras 2 .h5 models saved with backend {BACKEND!r} (channels-"
                          f"last tensor layouts). Fix: re-save it with TensorFlow's tf.keras.")
    native = keras2.model_from_keras2(_json_attr(reader, "model_config"))
    training = _json_attr(reader, "training_config")
    return native, (keras2.training_from_keras2(training) if training is not None else None)


def _check_version(version: Any, path: str) -> None:
    major = str(version).split(".")[0] if version is not None else None
    if major == "2":
        return
    fix = ("open it with keras.models.load_model in Keras 3 and save it as '.keras'"
           if major is not None and major.isdigit() and int(major) > 2 else
           "re-save the model with tf.keras 2 (TensorFlow 2.x)")
    raise FormatError(f"HDF5 model {path!r} has keras_version {version!r}; savepoint reads the "
                      f"Keras 2 .h5 layout (keras_version 2.x, as tf.keras writes). Fix: {fix}.")


def _json_attr(reader: H5Reader, name: str) -> Any:
    raw = reader.attr("", name)
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_CONFIG_CHARS:
        raise FormatError(f"HDF5 model {reader.path!r}: expected attribute {name!r} to be JSON "
                          f"text of at most {MAX_CONFIG_CHARS} characters. Received "
                          f"{type(raw).__name__}. The file is damaged; re-save the model.")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise FormatError(f"HDF5 model {reader.path!r}: attribute {name!r} is not valid JSON "
                          f"({e}). The file is damaged; re-save the model.") from None


def _read_optimizer(reader: H5Reader, model: Any) -> list[np.ndarray] | None:
    """Every optimizer value, checked against the built optimizer and read into fresh arrays
    (``None`` when the file holds no optimizer state)."""
    if not reader.has_group(OPTIMIZER_GROUP):
        return None
    names = reader.string_list(OPTIMIZER_GROUP, "weight_names") or []
    optimizer = model.optimizer
    optimizer.build(model.trainable_weights)
    variables = list(optimizer.variables)
    if len(names) == 1 and len(variables) > 1:
        variables = variables[:1]  # saved before the first step: only `iteration` exists
    if len(names) != len(variables):
        raise FormatError(
            f"HDF5 model {reader.path!r} holds {len(names)} optimizer values but "
            f"{type(optimizer).__name__} has {len(variables)} variables for this model "
            f"({[v.path for v in variables][:6]}...). Fix: load with compile=False and compile "
            f"anew, or re-save the model.")
    values = []
    for var, name in zip(variables, names):
        out = np.empty(var.shape, dtype=h5_weights._numpy_dtype(var))
        reader.read_into(OPTIMIZER_GROUP, name, out, f"optimizer variable '{var.path}'")
        values.append(out)
    return values


def present(path: str) -> bool:
    """A file at ``path`` that is a Keras 2 whole model (HDF5 with a ``model_config``).

    Example:
        >>> present("/nonexistent/m.h5")
        False
    """
    if not storage.exists(path) or storage.isdir(path):
        return False
    try:
        with H5Reader(path) as reader:
            return reader.attr("", "model_config") is not None
    except SavepointError:
        return False


registry.register(registry.FormatSpec(
    name="h5", kind="model", suffixes=(".h5", ".hdf5"), example="my_model.h5",
    save=save, load=load,
    verify=verification.verify_h5, delete=storage.remove, present=present,
    aliases=("h5",), description="'.h5' (Keras 2)"))

__all__ = ["BACKEND", "KERAS_VERSION", "load", "save"]
