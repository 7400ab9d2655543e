"""``model.save_weights`` / ``model.load_weights``: pick the weights format by path, in one place.

``*.weights.h5`` is Keras 3's weights file, ``*.h5``/``*.hdf5`` Keras 2's HDF5 weights, anything
else a TensorFlow checkpoint prefix (``cp.ckpt`` -> ``cp.ckpt.index`` + ``cp.ckpt.data-...`` and
the directory's ``checkpoint`` state file).

Example:
    >>> weights_format("training_1/cp.ckpt"), weights_format("w.h5"), weights_format("m.weights.h5")
    ('tf', 'h5', 'keras_h5')
"""

from __future__ import annotations

import os
from typing import Any, Callable

from savepoint.errors import ConfigError, NotBuiltError, OverwriteError
from savepoint.saving import storage
from savepoint.saving.engine import async_saver
from savepoint.saving.engine import checkpoint_io
from savepoint.saving import options as options_lib
from savepoint.saving.formats.tf_checkpoint import state_file

_WEIGHTS_FORMATS: dict[str, tuple[Callable, Callable]] = {}


def register_weights_format(name: str, save: Callable, load: Callable) -> None:
    """Add a weights format: ``save(model, path)`` and
    ``load(model, path, skip_mismatch, by_name=False)``."""
    _WEIGHTS_FORMATS[name] = (save, load)


def weights_format(filepath: str, save_format: str | None = None) -> str:
    """The format a weights path selects (``save_format`` overrides: "tf", "h5")."""
    if save_format is not None:
        fmt = {"tf": "tf", "tensorflow": "tf", "h5": "h5", "keras": "keras_h5"}.get(save_format)
        if fmt is None:
            raise ConfigError(f"Unknown save_format {save_format!r}. Expected 'tf' or 'h5'.")
        return fmt
    path = os.fspath(filepath).lower()
    if path.endswith(".weights.h5"):
        return "keras_h5"
    if path.endswith((".h5", ".hdf5", ".keras")):
        if path.endswith(".keras"):
            raise ConfigError(
                f"save_weights/load_weights expected a weights path such as 'model.weights.h5', "
                f"'weights.h5' or a checkpoint prefix. Received {filepath!r}, a whole-model "
                f"'.keras' path. Fix: use model.save()/load_model() for '.keras' files.")
        return "h5"
    return "tf"


class WeightsRoot:
    """The root ``save_weights`` writes: the model, plus the ``root`` self-edge tf.keras adds."""

    def __init__(self, model: Any):
        self.model = model
        self._trackable_identity = model

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return self.model._trackable_children() + [("root", self.model)]


def _require_built(model: Any, what: str) -> None:
    if not model.built:
        raise NotBuiltError(
            f"Cannot {what} model '{model.name}': it is not built yet, so it has no weights. "
            f"Fix: call the model on a batch, call model.build(input_shape), or give the first "
            f"layer an input_shape.")


def save_weights(model: Any, filepath: str, overwrite: bool = True,
                 save_format: str | None = None, options: Any = None,
                 then: Callable[[], None] | None = None) -> None:
    """Write the model's weights (and optimizer state for checkpoints) to ``filepath``.

    ``options`` (``CheckpointOptions``) with ``enable_async`` writes a checkpoint in the
    background (see ``async_saver``); ``then`` runs after the commit (in the background too)."""
    _require_built(model, "save the weights of")
    fmt = weights_format(filepath, save_format)
    filepath = os.fspath(filepath)
    opts = options_lib.resolve(options)
    if fmt == "tf":
        if not overwrite and storage.exists(filepath + ".index"):
            raise _exists(filepath + ".index")

        state_dir = os.path.dirname(filepath) or "."

        def committed() -> None:
            opts.run_write_callbacks(filepath)
            if then is not None:
                then()
        if opts.enable_async:
            async_saver.saver_for(model, opts).save_tree(WeightsRoot(model), filepath,
                                                         then=committed, state_dir=state_dir)
            return
        checkpoint_io.save_tree(WeightsRoot(model), filepath, state_dir=state_dir)
        committed()
        return
    if opts.enable_async:
        raise ConfigError(
            f"Asynchronous saving writes TensorFlow checkpoints only. Received {filepath!r} "
            f"(format {fmt!r}). Fix: save to a checkpoint prefix such as 'training_1/cp.ckpt', "
            f"or save synchronously.")
    if not overwrite and storage.exists(filepath):
        raise _exists(filepath)
    _handler(fmt)[0](model, filepath)
    if then is not None:
        then()


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False,
                 by_name: bool = False) -> Any:
    """Read weights from ``filepath``; a checkpoint returns a status with ``assert_consumed()``."""
    _require_built(model, "load weights into")
    async_saver.wait_all(raise_errors=False)  # pending async saves land first
    filepath = os.fspath(filepath)
    fmt = weights_format(filepath)
    if fmt == "tf":
        if storage.isdir(filepath) and not storage.exists(filepath + ".index"):
            latest = state_file.latest_checkpoint(filepath)
            if latest is not None:
                filepath = latest
        checkpoint_io.require_checkpoint(filepath)
        return checkpoint_io.restore_tree(WeightsRoot(model), filepath, required=model.weights)
    if not storage.exists(filepath):
        from savepoint.errors import CheckpointNotFoundError
        raise CheckpointNotFoundError(
            f"Expected a weights file at {filepath!r}. Received a path that does not exist. "
            f"Fix: check the path.")
    return _handler(fmt)[1](model, filepath, skip_mismatch, by_name=by_name)


def _handler(fmt: str) -> tuple[Callable, Callable]:
    if fmt not in _WEIGHTS_FORMATS:
        # Format modules register themselves on import; importing here keeps dispatch in one place.
        import savepoint.saving.handlers.h5_weights  # noqa: F401
    return _WEIGHTS_FORMATS[fmt]


def _exists(path: str) -> OverwriteError:
    return OverwriteError(f"Expected to write a new file but {path!r} exists and overwrite=False "
                          f"was passed. Fix: pass overwrite=True or choose another path.")
