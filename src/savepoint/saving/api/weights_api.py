"""``model.save_weights`` / ``model.load_weights``: dispatch through the format registry.

``*.weights.h5`` is Keras 3's weights file, ``*.h5``/``*.hdf5`` Keras 2's HDF5 weights,
``*.safetensors`` a safetensors file, anything else a TensorFlow checkpoint prefix (``cp.ckpt``
-> ``cp.ckpt.index`` + ``cp.ckpt.data-...`` and the directory's ``checkpoint`` state file).
Which is which is the registry's business (``saving.registry``); every format saves async.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = tempfile.mkdtemp()
    >>> for name in ("cp.ckpt", "w.h5", "m.weights.h5", "w.safetensors"):
    ...     save_weights(m, os.path.join(d, name)); _ = load_weights(m, os.path.join(d, name))
"""

from __future__ import annotations

import os
from typing import Any, Callable

from savepoint.errors import NotBuiltError
from savepoint.saving import options as options_lib
from savepoint.saving import registry
from savepoint.saving.api import prepare_target
from savepoint.saving.engine import async_saver
from savepoint.saving.engine.checkpoint_io import WeightsRoot  # noqa: F401 (public name)


def _require_built(model: Any, what: str) -> None:
    if not model.built:
        raise NotBuiltError(
            f"Cannot {what} model '{model.name}': it is not built yet, so it has no weights. "
            f"Fix: call the model on a batch, call model.build(input_shape), or give the first "
            f"layer an input_shape.")


def save_weights(model: Any, filepath: str, overwrite: bool = True,
                 save_format: str | None = None, options: Any = None,
                 then: Callable[[], None] | None = None) -> None:
    """Write the model's weights (and optimizer state where the format holds it).

    ``options`` (``CheckpointOptions``) with ``enable_async`` writes in the background (see
    ``engine.async_saver``); ``then`` runs after the commit (in the background too).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save_weights(m, os.path.join(tempfile.mkdtemp(), "cp.ckpt"))
    """
    _require_built(model, "save the weights of")
    spec = registry.for_path(filepath, "weights", save_format)
    filepath = os.fspath(filepath)
    opts = options_lib.resolve(options)
    prepare_target(filepath, spec.present(filepath), overwrite)

    def committed() -> None:
        opts.run_write_callbacks(filepath)
        if then is not None:
            then()
    if opts.enable_async:
        async_saver.save_async(spec, model, filepath, opts, committed)
        return
    spec.save(model, filepath)
    committed()


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False,
                 by_name: bool = False) -> Any:
    """Read weights from ``filepath``; a checkpoint returns a status with ``assert_consumed()``.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> load_weights(m, "/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    _require_built(model, "load weights into")
    async_saver.wait_all(raise_errors=False)  # pending async saves land first
    filepath = os.fspath(filepath)
    spec = registry.for_path(filepath, "weights")
    return spec.load(model, filepath, skip_mismatch, by_name=by_name)


__all__ = ["WeightsRoot", "load_weights", "save_weights"]
