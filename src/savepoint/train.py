"""``savepoint.train``: TensorFlow's checkpoint API (``tf.train.X`` -> ``savepoint.train.X``).

Example:
    >>> import tempfile
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
"""

from __future__ import annotations

import os

from savepoint.saving import storage
from savepoint.saving.engine import checkpoint_io
from savepoint.saving.api.checkpoint import Checkpoint
from savepoint.saving.api.checkpoint_manager import CheckpointManager
from savepoint.saving.options import CheckpointOptions
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader
from savepoint.saving.formats.tf_checkpoint.state_file import (get_checkpoint_state,
                                                               latest_checkpoint, resolve_latest)
from savepoint.saving.api.verify import VerifyReport, verify


def load_checkpoint(ckpt_dir_or_file: str) -> BundleReader:
    """A reader of a checkpoint prefix, or of the latest checkpoint in a directory.

    The reader has ``get_tensor(name)``, ``get_variable_to_shape_map()``,
    ``get_variable_to_dtype_map()`` and ``has_tensor(name)``; every read verifies its checksum.
    """
    path = _resolve(ckpt_dir_or_file)
    checkpoint_io.require_checkpoint(path)
    return checkpoint_io.open_whole(path)


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list[int]]]:
    """``[(name, shape), ...]`` of every tensor in the checkpoint, sorted by name."""
    path = _resolve(ckpt_dir_or_file)
    checkpoint_io.require_checkpoint(path)
    return sorted(checkpoint_io.variable_shapes(path).items())


def _resolve(path: str) -> str:
    path = os.fspath(path)
    if storage.isdir(path) and not storage.exists(path + ".index") and \
            storage.exists(os.path.join(path, "checkpoint")):  # storage: URLs too
        return resolve_latest(path)  # a damaged or dangling state file raises, naming it
    return path


__all__ = ["BundleReader", "Checkpoint", "CheckpointManager", "CheckpointOptions",
           "VerifyReport", "get_checkpoint_state",
           "latest_checkpoint", "list_variables", "load_checkpoint", "verify"]
