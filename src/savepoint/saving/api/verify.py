"""``savepoint.train.verify``: check a checkpoint, saved model or weights file without loading it.

Every checksum and structural invariant a load would check is checked, with the same
``SavepointError`` subclasses, but no model is built and nothing is assigned. The format comes
from the registry (``saving.registry.detect``); each format's check lives with its handler
(``saving.handlers.verification``).

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.tf_checkpoint import write_bundle
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> write_bundle(prefix, {"w": np.ones(3, np.float32)})
    >>> report = verify(prefix)
    >>> report.format, report.n_tensors, report.bytes_checked
    ('tf_checkpoint', 1, 12)
"""

from __future__ import annotations

import os

from savepoint.errors import CheckpointNotFoundError, FormatError
from savepoint.saving import registry, storage
from savepoint.saving.handlers.verification import VerifyReport


def verify(path: str) -> VerifyReport:
    """Check the checkpoint prefix, checkpoint directory (its state file names the checkpoint),
    model directory, ``.h5``/``.hdf5``/``.weights.h5``/``.safetensors`` file or ``.keras``
    archive at ``path``.

    Raises ``CheckpointNotFoundError`` when nothing is there and ``FormatError`` (or another
    ``SavepointError``) naming the damaged file, and tensor or dataset, exactly as a load would.

    Example:
        >>> verify("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    path = os.fspath(path)
    spec = registry.detect(path)
    if spec is not None:
        return spec.verify(path)
    claimed = registry.for_suffix(path)
    if claimed is not None and storage.isdir(path):
        raise FormatError(f"Expected a file at {path!r} (its extension names a "
                          f"{claimed.description or claimed.name} file). Received a directory. "
                          f"Fix: pass the file's path.")
    if claimed is not None and storage.exists(path):
        return claimed.verify(path)  # the format's own check words what is wrong
    if storage.exists(path):
        raise FormatError(f"Expected a checkpoint prefix, model directory, '.h5', '.keras' or "
                          f"'.safetensors' file at {path!r}. Received a file whose name carries "
                          f"no format's suffix. Fix: pass the save's own path (a checkpoint "
                          f"prefix without '.index').")
    raise CheckpointNotFoundError(
        f"Expected a checkpoint prefix, model directory, '.h5', '.keras' or '.safetensors' file "
        f"at {path!r}. Received a path that does not exist. Fix: check the path.")


__all__ = ["VerifyReport", "verify"]
