"""``savepoint.train``: TensorFlow's checkpoint API (``tf.train.X`` -> ``savepoint.train.X``).

Everything here comes from ``savepoint.saving.api``: this module only names it as TensorFlow does.

Example:
    >>> import tempfile
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
"""

from __future__ import annotations

from savepoint.saving.api.checkpoint import (BundleReader, Checkpoint, get_checkpoint_state,
                                             latest_checkpoint, list_variables, load_checkpoint)
from savepoint.saving.api.checkpoint_manager import CheckpointManager
from savepoint.saving.api.verify import VerifyReport, verify
from savepoint.saving.options import CheckpointOptions

__all__ = ["BundleReader", "Checkpoint", "CheckpointManager", "CheckpointOptions",
           "VerifyReport", "get_checkpoint_state",
           "latest_checkpoint", "list_variables", "load_checkpoint", "verify"]
