"""Storage's primitives: path types, temporary names, the remote/local decision, directory fsync.

The lowest storage module: the package and its submodules (``reading``, ``directories``) build on
it, so none of them imports another at load time.

Example:
    >>> is_temp_name(os.path.basename(temp_name_for("/ckpt/cp.ckpt.index")))
    True
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Union

from savepoint.errors import CheckpointNotFoundError
from savepoint.saving.storage.backend import backend_for, is_remote, local_path

PathLike = Union[str, "os.PathLike[str]"]
Buffer = Union[bytes, bytearray, memoryview]

_TMP_MARKER = ".tmp-"
_OPEN_TEMPS: set[str] = set()  # temporary paths this process's open writers own


def _fspath(path: PathLike) -> str:
    return local_path(path)  # a file:// URL is a local path


def _remote(path: PathLike) -> Any:
    """The backend serving ``path`` when it is a remote URL (``s3://``...), else None (local).

    A ``scheme://`` path never falls through to the local code: an unknown scheme or a missing
    fsspec package raises here (``backend.backend_for``) before anything is written."""
    text = os.fspath(path)
    if "://" not in text or not is_remote(text):
        return None
    return backend_for(text)


def temp_name_for(path: PathLike) -> str:
    """Return a fresh temporary path beside ``path``: ``<dir>/.<name>.tmp-<pid>-<random hex>``
    (the writer's process id tells :func:`remove_stale_temp_files` whether it may be live).

    Example:
        >>> temp_name_for("/ckpt/cp.ckpt.index").startswith("/ckpt/.cp.ckpt.index.tmp-")
        True
    """
    path = _fspath(path)
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}{_TMP_MARKER}{os.getpid()}-{secrets.token_hex(6)}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of this module's temporary names (left behind by a crash).

    Example:
        >>> is_temp_name(".cp.ckpt.index.tmp-a1b2c3d4e5f6"), is_temp_name("cp.ckpt.index")
        (True, False)
    """
    return name.startswith(".") and _TMP_MARKER in name


def fsync_dir(directory: PathLike) -> None:
    """fsync a directory so that a rename inside it survives a power loss (no-op where unsupported).

    Example:
        >>> import tempfile
        >>> fsync_dir(tempfile.mkdtemp())
    """
    directory = _fspath(directory) or "."
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows cannot open directories; the rename is still atomic there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _missing(path: str) -> CheckpointNotFoundError:
    return CheckpointNotFoundError(
        f"Expected a file at {path!r}. Received a path that does not exist. "
        "Fix: check the path or prefix (and that the save finished).")
