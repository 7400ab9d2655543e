"""The TensorFlow checkpoint handler: ``save_weights("training_1/cp.ckpt")`` and its kin.

A prefix names ``<prefix>.index`` and ``<prefix>.data-NNNNN-of-NNNNN`` (the tensor bundle, see
``formats.tf_checkpoint``) and the directory's ``checkpoint`` state file names the latest one.
This is the weights format for every path no other format's suffix claims (as in tf.keras).

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> save(m, prefix); present(prefix), present(os.path.dirname(prefix))
    (True, True)
    >>> load(m, os.path.dirname(prefix)).assert_existing_objects_matched() is not None
    True
"""

from __future__ import annotations

import os
from typing import Any

from savepoint.errors import ConfigError
from savepoint.saving import registry, storage
from savepoint.saving.engine import checkpoint_io
from savepoint.saving.engine.checkpoint_io import WeightsRoot
from savepoint.saving.formats.tf_checkpoint import layout, state_file
from savepoint.saving.handlers import verification


def _state_dir(prefix: str) -> str:
    return os.path.dirname(prefix) or "."


def save(model: Any, prefix: str) -> None:
    """Write the model's weights and optimizer state at ``prefix`` and make it the directory's
    latest checkpoint.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save(m, os.path.join(tempfile.mkdtemp(), "cp.ckpt"))
    """
    checkpoint_io.save_tree(WeightsRoot(model), prefix, state_dir=_state_dir(prefix))


def snapshot(model: Any, copy: Any) -> dict:
    """The async save's snapshot: every tensor copied by ``copy``, keyed as TF keys them.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> sorted(snapshot(m, lambda ts: [t.clone() for t in ts]))[0]
        '_CHECKPOINTABLE_OBJECT_GRAPH'
    """
    return checkpoint_io.snapshot(WeightsRoot(model), copy=copy)


def persist(tensors: dict, prefix: str) -> None:
    """Write a ``snapshot`` at ``prefix`` (then point the state file at it).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> persist(snapshot(m, lambda ts: [t.clone() for t in ts]),
        ...         os.path.join(tempfile.mkdtemp(), "cp.ckpt"))
    """
    checkpoint_io.persist(tensors, prefix, _state_dir(prefix))


def load(model: Any, path: str, skip_mismatch: bool = False, by_name: bool = False) -> Any:
    """Restore from a prefix, or from the latest checkpoint of a directory; returns the status
    with ``assert_consumed()`` and friends (``skip_mismatch``/``by_name`` do not apply: a
    checkpoint matches objects by their place in the object graph, as TensorFlow does).

    Example:
        >>> load(None, "/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    if storage.isdir(path) and not storage.exists(layout.index_path(path)):
        latest = state_file.latest_checkpoint(path)
        if latest is not None:
            path = latest
    checkpoint_io.require_checkpoint(path)
    return checkpoint_io.restore_tree(WeightsRoot(model), path, required=model.weights)


def present(path: str) -> bool:
    """A checkpoint prefix, or a directory with a ``checkpoint`` state file.

    Example:
        >>> present("/nonexistent/cp.ckpt")
        False
    """
    if storage.exists(layout.index_path(path)):
        return True
    return storage.isdir(path) and storage.exists(os.path.join(path, state_file.STATE_FILENAME))


def delete_checkpoint_files(prefix: str, directory: str | None = None) -> None:
    """Remove ``prefix.index`` and every ``prefix.data-SSSSS-of-NNNNN`` shard, and nothing else:
    a neighbour such as ``prefix.data-notes.txt`` stays. With ``directory``, a prefix outside it
    raises ``ConfigError`` before anything is removed.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> for n in ("cp.index", "cp.data-00000-of-00001", "cp.data-notes.txt"):
        ...     open(os.path.join(d, n), "w").close()
        >>> delete_checkpoint_files(os.path.join(d, "cp"), d)
        >>> os.listdir(d)
        ['cp.data-notes.txt']
    """
    if directory is not None and not state_file.is_inside(prefix, directory):
        raise ConfigError(f"Expected a checkpoint inside {directory!r} to delete. Received "
                          f"{prefix!r}, which lies outside it. Fix: prune only checkpoints this "
                          f"manager wrote into its directory.")
    parent, base = os.path.split(prefix)
    storage.remove(layout.index_path(prefix))  # first: without it the rest is no checkpoint
    for name in storage.listdir(parent or "."):
        if layout.is_bundle_file(name, base):
            storage.remove(os.path.join(parent, name))



def delete(path: str) -> None:
    """Remove the checkpoint at prefix ``path`` (its index and data shards only).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt"); save(m, prefix)
        >>> delete(prefix); present(prefix)
        False
    """
    delete_checkpoint_files(path)


registry.register(registry.FormatSpec(
    name="tf_checkpoint", kind="weights", suffixes=(), example="cp.ckpt",
    save=save, load=load,
    verify=verification.verify_checkpoint, delete=delete, present=present,
    aliases=("tf", "tensorflow"), fallback=True, snapshot=snapshot, persist=persist,
    description="TensorFlow checkpoint"))

__all__ = ["delete", "delete_checkpoint_files", "load", "persist", "present", "save",
           "snapshot"]
