"""``savepoint.train.verify``: check a checkpoint, saved model or weights file without loading it.

Every checksum and structural invariant a load would check is checked, with the same
``SavepointError`` subclasses, but no model is built and nothing is assigned. The format comes
from the registry (``saving.registry.detect``); each format's check lives with its handler
(``saving.handlers.verification``).

``check`` runs the same verification and reports it file by file (``savepoint verify``).

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.tf_checkpoint import write_bundle
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> write_bundle(prefix, {"w": np.ones(3, np.float32)})
    >>> report = verify(prefix)
    >>> report.format, report.n_tensors, report.bytes_checked
    ('tf_checkpoint', 1, 12)
    >>> [(os.path.basename(f.path), f.status) for f in check(prefix).files]
    [('cp.ckpt.data-00000-of-00001', 'ok'), ('cp.ckpt.index', 'ok')]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from savepoint.errors import CheckpointNotFoundError, FormatError, SavepointError
from savepoint.saving import registry, storage
from savepoint.saving.api import contents
from savepoint.saving.formats.tf_checkpoint import layout, state_file
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


@dataclass(frozen=True)
class FileCheck:
    """One file of a save: ``status`` is ``"ok"``, ``"damaged"`` (``detail`` says how) or
    ``"not checked"`` (verification stopped at the damaged file first).

    Example:
        >>> FileCheck("cp.ckpt.index", 978, "ok").status
        'ok'
    """

    path: str
    size: int | None
    status: str
    detail: str = ""


@dataclass(frozen=True)
class VerifyResult:
    """:func:`check`'s answer: ``ok``, the format, each file's :class:`FileCheck`, what was
    checked (``n_tensors``, ``bytes_checked``) and, when damaged, the ``error`` message.

    Example:
        >>> VerifyResult("w.h5", "h5_weights", True, [], 2, 32).error
        ''
    """

    path: str
    format: str
    ok: bool
    files: list[FileCheck]
    n_tensors: int = 0
    bytes_checked: int = 0
    error: str = ""


def _size(path: str) -> int | None:
    try:
        return storage.file_size(path)
    except (SavepointError, OSError):
        return None


def _blamed(files: list[str], message: str, root: str) -> str | None:
    """The file an error message names (the longest path or relative name it contains)."""
    named = [f for f in files if f in message or os.path.relpath(f, root) in message]
    return max(named, key=len) if named else (files[0] if len(files) == 1 else None)


def save_files(path: str) -> list[str]:
    """Every file the save at ``path`` consists of: a checkpoint's state file (when ``path`` is
    its directory), index and data shards; every file of a model directory or SavedModel; the
    file itself otherwise.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from savepoint.saving.formats.tf_checkpoint import write_bundle
        >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
        >>> write_bundle(prefix, {"w": np.ones(3, np.float32)})
        >>> [os.path.basename(f) for f in save_files(prefix)]
        ['cp.ckpt.data-00000-of-00001', 'cp.ckpt.index']
    """
    path = os.fspath(path)
    spec = contents.find_format(path)
    if spec.name != "tf_checkpoint" and storage.isdir(path):  # the directory formats
        return [os.path.join(path, name) for name in storage.list_tree(path)]
    if spec.name != "tf_checkpoint":
        return [path]
    found = []
    if not storage.exists(layout.index_path(path)):
        found.append(os.path.join(path, state_file.STATE_FILENAME))
        path = contents.checkpoint_prefix(path)
    parent, base = os.path.split(path)
    found += sorted(os.path.join(parent, n) for n in storage.listdir(parent or ".")
                    if layout.is_bundle_file(n, base))
    return found


def check(path: str) -> VerifyResult:
    """:func:`verify` the save at ``path``, reported per file; a damaged save is a result with
    ``ok=False``, not an exception. Nothing at ``path`` raises ``CheckpointNotFoundError``.

    Example:
        >>> check("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    path = os.fspath(path)
    spec = contents.find_format(path)  # raises when nothing is there
    try:
        files = save_files(path)
    except SavepointError:  # a dangling or damaged state file: verify words it
        files = [path]
    try:
        report = verify(path)
    except SavepointError as e:
        message = str(e)
        root = path if storage.isdir(path) else os.path.dirname(path)
        bad = _blamed(files, message, root)
        checks = [FileCheck(f, _size(f), "damaged", message) if f == bad else
                  FileCheck(f, _size(f), "not checked") for f in files]
        return VerifyResult(path, spec.name, False, checks, error=message)
    return VerifyResult(path, spec.name, True,
                        [FileCheck(f, _size(f), "ok") for f in files],
                        report.n_tensors, report.bytes_checked)


__all__ = ["FileCheck", "VerifyReport", "VerifyResult", "check", "save_files", "verify"]
