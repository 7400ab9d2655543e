"""The user API of saving: save/load weights and models, Checkpoint, CheckpointManager, verify,
and the two calls callbacks need (``delete_save``, ``wait_for_saves``). Everything here
dispatches through ``saving.registry``.

Example:
    >>> delete_save("/nonexistent/cp.ckpt")  # nothing there: nothing to do
"""

from __future__ import annotations

import os
from typing import Any

from savepoint.errors import OverwriteError
from savepoint.saving import registry, storage


def prepare_target(path: str, taken: bool, overwrite: bool) -> None:
    """Refuse a ``taken`` path under ``overwrite=False``; create the directories ``path`` names
    (as tf.keras does for every save).

    Example:
        >>> prepare_target("/tmp/x/y.h5", taken=True, overwrite=False)
        Traceback (most recent call last):
        savepoint.errors.OverwriteError: Expected to write a new save but '/tmp/x/y.h5' exists and overwrite=False was passed. Fix: pass overwrite=True or choose another path.
    """
    if taken and not overwrite:
        raise OverwriteError(f"Expected to write a new save but {path!r} exists and "
                             f"overwrite=False was passed. Fix: pass overwrite=True or choose "
                             f"another path.")
    parent = os.path.dirname(path.rstrip("/"))
    if parent:
        storage.makedirs(parent)


def delete_save(path: str) -> None:
    """Delete the save at ``path`` the way its format says (a checkpoint prefix loses exactly its
    index and data shards; a model directory its tree; a file itself). Nothing there: no-op.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> p = os.path.join(tempfile.mkdtemp(), "w.h5"); m.save_weights(p)
        >>> delete_save(p); os.path.exists(p)
        False
    """
    path = os.fspath(path)
    spec = registry.detect(path)
    if spec is not None:
        spec.delete(path)


def wait_for_saves(owner: Any) -> None:
    """Block until every background save of ``owner`` (a model, a ``Checkpoint``) is committed;
    raise the first background error.

    Example:
        >>> import savepoint as keras
        >>> wait_for_saves(keras.Sequential([keras.layers.Dense(2, input_shape=(3,))]))
    """
    from savepoint.saving.engine import async_saver
    async_saver.wait_for(owner)


__all__ = ["delete_save", "prepare_target", "wait_for_saves"]
