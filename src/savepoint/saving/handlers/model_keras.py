"""``model.save("m.keras")`` / ``load_model("m.keras")``: the Keras 3 ``.keras`` whole-model format.

The zip (``formats.keras_zip``) holds ``metadata.json``, ``config.json`` (architecture and compile
config in Keras 3's dialect, ``dialects.keras3``), ``model.weights.h5`` (Keras 3's weights layout
with the optimizer state, ``h5_weights``) and ``assets/<layer path>/<file>`` for layers that ship
files. Keras 3's ``keras.models.load_model`` opens what this writes, and this reads what Keras 3
writes.

Loading builds a fresh model from the config (classes only from built-ins, registrations,
``custom_object_scope`` and ``custom_objects``; ``Lambda`` bytecode only with
``safe_mode=False``), compiles it, and loads the weights after validating every one of them:
a failed load raises and returns nothing, and never writes beside the file.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.keras"); save(m, path, True)
    >>> type(load(path, compile=False)).__name__
    'Sequential'
"""

from __future__ import annotations

import os
from typing import Any

from savepoint.errors import ConfigError, OverwriteError
from savepoint.saving import registry, storage
from savepoint.saving.engine import whole_model
from savepoint.saving.formats.keras_zip import WEIGHTS, KerasArchive, write_archive
from savepoint.saving.handlers import h5_weights, verification
from savepoint.saving.mapping.dialects import keras3


# ----- save ---------------------------------------------------------------------------------
def save(model: Any, path: str, include_optimizer: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` zip at ``path`` (atomically replacing a file).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save(m, os.path.join(tempfile.mkdtemp(), "m.keras"))
    """
    from savepoint.saving.engine.model_config import compile_config
    path = os.fspath(path)
    if storage.isdir(path):
        raise OverwriteError(f"Expected {path!r} to be a '.keras' file path. Received an "
                             f"existing directory. Fix: remove it or choose another path.")
    whole_model.require_built(model)
    config = keras3.to_keras3(whole_model.model_config(model),
                              compile_config(model) if include_optimizer else None)
    whole_model.check_json(config)
    assets = _collect_assets(model)
    shown = f"{path}/{WEIGHTS}"
    write_archive(path, keras3.metadata(), config,
                  lambda member: h5_weights.save_keras_h5(
                      model, shown, include_optimizer=include_optimizer, fileobj=member),
                  assets)


def _collect_assets(model: Any) -> dict[str, bytes]:
    """``"<Keras 3 layer path>/<file>" -> bytes`` for every layer's ``get_assets()``."""
    assets: dict[str, bytes] = {}
    for node_path, layer, _ in h5_weights._keras3_nodes(model):
        for name, data in layer.get_assets().items():
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ConfigError(f"Layer '{layer.name}' asset {name!r} must be bytes. "
                                  f"Received {type(data).__name__}.")
            assets["/".join(p for p in (node_path, str(name)) if p)] = bytes(data)
    return assets


# ----- load ---------------------------------------------------------------------------------
def load(path: str, custom_objects: dict | None = None, compile: bool = True,
         safe_mode: bool = True) -> Any:
    """Load a ``.keras`` file saved by savepoint or Keras 3.

    Example:
        >>> load("/nonexistent.keras")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    path = os.fspath(path)
    with KerasArchive(path) as archive:
        keras3.check_metadata(archive.metadata, path)
        with whole_model.loading_scope(safe_mode, custom_objects):
            native, compile_config = keras3.from_keras3(archive.config, custom_objects)
            model = whole_model.rebuild(native, custom_objects, f"{path}/config.json",
                                        compile_config if compile else None)
        if compile and not compile_config:
            whole_model.warn_not_compiled()
        _load_assets(model, archive)
        weights = archive.open_weights()  # in place when stored (CRC checked meanwhile)
        if isinstance(weights, str):
            h5_weights.load_keras_h5(model, weights)
        else:
            h5_weights.load_keras_h5(model, f"{path}/{WEIGHTS}", fileobj=weights)
    return model


def _load_assets(model: Any, archive: KerasArchive) -> None:
    names = set(archive.asset_names)
    for node_path, layer, _ in h5_weights._keras3_nodes(model):
        prefix = node_path + "/" if node_path else ""
        mine = sorted(n for n in names if n.startswith(prefix) and "/" not in n[len(prefix):])
        if mine:
            layer.load_assets({n[len(prefix):]: archive.read_asset(n) for n in mine})


registry.register(registry.FormatSpec(
    name="keras", kind="model", suffixes=(".keras",), example="my_model.keras",
    save=save, load=load,
    verify=verification.verify_keras, delete=storage.remove, present=storage.exists,
    aliases=("keras",), description="'.keras' (Keras 3)"))

__all__ = ["load", "save"]
