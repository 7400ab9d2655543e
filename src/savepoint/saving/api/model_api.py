"""``model.save`` / ``load_model``: pick the whole-model format by path, in one place.

No extension: savepoint's model directory (``saved_model.json``, ``variables/``, ``assets/``,
``inference/``, ``fingerprint.json``); ``.h5``/``.hdf5``: the Keras 2 HDF5 model; ``.keras``:
the Keras 3 zip. Each format module registers ``save(model, path, include_optimizer)`` and
``load(path, custom_objects, compile, safe_mode)`` here.

Example:
    >>> model_format("saved_model/my_model"), model_format("m.h5"), model_format("m.keras")
    ('directory', 'h5', 'keras')
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable

from savepoint.errors import ConfigError, OverwriteError
from savepoint.saving import storage

_MODEL_FORMATS: dict[str, tuple[Callable, Callable]] = {}
_FORMAT_MODULES = {"directory": "savepoint.saving.handlers.model_dir",
                   "h5": "savepoint.saving.handlers.model_h5",
                   "keras": "savepoint.saving.handlers.model_keras"}


def register_model_format(name: str, save: Callable, load: Callable) -> None:
    """Add a whole-model format under ``name``."""
    _MODEL_FORMATS[name] = (save, load)


def model_format(filepath: str, save_format: str | None = None) -> str:
    """The whole-model format a path selects (``save_format`` "tf"/"h5"/"keras" overrides)."""
    if save_format is not None:
        fmt = {"tf": "directory", "directory": "directory", "h5": "h5",
               "keras": "keras"}.get(save_format)
        if fmt is None:
            raise ConfigError(f"Unknown save_format {save_format!r}. Expected 'tf' (model "
                              f"directory), 'h5' or 'keras'.")
        return fmt
    path = os.fspath(filepath)
    base = os.path.basename(path.rstrip("/\\")).lower()
    if base.endswith((".h5", ".hdf5")):
        return "h5"
    if base.endswith(".keras"):
        return "keras"
    if "." in base and not storage.isdir(path):
        ext = base.rsplit(".", 1)[1]
        if ext not in ("ckpt", "model", "savedmodel", "tf"):
            raise ConfigError(
                f"Unknown model file extension '.{ext}' in {filepath!r}. Expected a directory "
                f"path without extension (savepoint model directory), '.h5'/'.hdf5' (Keras 2) "
                f"or '.keras' (Keras 3).")
    return "directory"


def _handler(fmt: str) -> tuple[Callable, Callable]:
    if fmt not in _MODEL_FORMATS:
        importlib.import_module(_FORMAT_MODULES[fmt])
    return _MODEL_FORMATS[fmt]


def save_model(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
               save_format: str | None = None) -> None:
    """Save architecture, weights, compile config and optimizer state of ``model``."""
    filepath = os.fspath(filepath)
    fmt = model_format(filepath, save_format)
    if not overwrite and storage.exists(filepath):
        raise OverwriteError(f"Expected to write a new model but {filepath!r} exists and "
                             f"overwrite=False was passed. Fix: pass overwrite=True or choose "
                             f"another path.")
    _handler(fmt)[0](model, filepath, include_optimizer)


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a model saved by ``model.save`` (or by tf.keras ``.h5`` / Keras 3 ``.keras``).

    Example:
        >>> load_model("/nonexistent/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    filepath = os.fspath(filepath)
    if not storage.exists(filepath):
        from savepoint.errors import CheckpointNotFoundError
        raise CheckpointNotFoundError(
            f"Expected a saved model at {filepath!r}. Received a path that does not exist. "
            f"Fix: check the path (model.save() writes a directory, '.h5' or '.keras').")
    fmt = model_format(filepath)
    return _handler(fmt)[1](filepath, custom_objects, compile, safe_mode)
