"""``model.save`` / ``load_model``: dispatch through the format registry.

No extension: savepoint's model directory (``saved_model.json``, ``variables/``, ``assets/``,
``inference/``, ``fingerprint.json``); ``.h5``/``.hdf5``: the Keras 2 HDF5 model; ``.keras``:
the Keras 3 zip. Which is which is the registry's business (``saving.registry``).

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = tempfile.mkdtemp()
    >>> for name in ("my_model", "m.h5", "m.keras"):
    ...     save_model(m, os.path.join(d, name))
    ...     type(load_model(os.path.join(d, name), compile=False)).__name__
    'Sequential'
    'Sequential'
    'Sequential'
"""

from __future__ import annotations

import os
from typing import Any, Callable

from savepoint.errors import CheckpointNotFoundError, ConfigError
from savepoint.saving import options as options_lib
from savepoint.saving import registry, storage
from savepoint.saving.api import prepare_target
from savepoint.saving.engine import async_saver


def save_model(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
               save_format: str | None = None, signatures: Any = None, options: Any = None,
               then: Callable[[], None] | None = None) -> None:
    """Save architecture, weights, compile config and optimizer state of ``model``.

    ``options`` (``CheckpointOptions``) with ``enable_async`` snapshots the variables now and
    writes in the background (``engine.async_saver``); ``then`` runs after the commit.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save_model(m, os.path.join(tempfile.mkdtemp(), "m.keras"))
    """
    filepath = os.fspath(filepath)
    spec = registry.for_path(filepath, "model", save_format)
    if signatures is not None:
        raise ConfigError(f"Expected signatures=None: savepoint's model formats ({spec.name!r} "
                          f"here) store no TF serving signatures. Received {signatures!r:.80}. "
                          f"Fix: drop signatures; predict() serves the model's call.")
    prepare_target(filepath, storage.exists(filepath), overwrite)
    opts = options_lib.resolve(options)
    if opts.enable_async:
        async_saver.saver_for(model, opts).save_with(
            lambda m, p: spec.save(m, p, include_optimizer), model, filepath, then)
        return
    spec.save(model, filepath, include_optimizer)
    if then is not None:
        then()


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Load a model saved by ``model.save`` (or by tf.keras: ``.h5`` or a SavedModel directory;
    by Keras 3: ``.keras``). The format of an existing path is detected (``registry.detect``).

    Example:
        >>> load_model("/nonexistent/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    filepath = os.fspath(filepath)
    if not storage.exists(filepath):
        raise CheckpointNotFoundError(
            f"Expected a saved model at {filepath!r}. Received a path that does not exist. "
            f"Fix: check the path (model.save() writes a directory, '.h5' or '.keras').")
    found = registry.detect(filepath)  # a directory without suffix may be a tf.keras SavedModel
    spec = found if found is not None and found.kind == "model" else \
        registry.for_path(filepath, "model")
    return spec.load(filepath, custom_objects, compile, safe_mode)


__all__ = ["load_model", "save_model"]
