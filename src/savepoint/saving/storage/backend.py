"""Which storage backend serves a path: the ``Backend`` protocol, URL parsing, scheme lookup.

A plain path (or a ``file://`` URL) is served by the local filesystem, whose code is the rest of
this package. A ``scheme://`` URL is served by an fsspec filesystem (``storage/remote.py``): S3,
GCS, Azure, ``memory://`` and any other fsspec protocol. A URL is never written as a local path:
a scheme fsspec does not know, or whose package is missing, raises before anything is written.

Every backend commits a file atomically, but each in its own way (``Backend.commit_strategy``):
``"rename"`` on a local disk (temporary name, fsync, rename), ``"put"`` on an object store (one
PUT, or a completed multipart upload, makes the whole object visible at once). Multi-file saves
then order their commits so that the file that makes the save visible is written last: the
``checkpoint`` state file for TF checkpoints, ``fingerprint.json`` for a model directory.

Example:
    >>> split_url("s3://bucket/training_1/cp.ckpt")
    ('s3', 'bucket/training_1/cp.ckpt')
    >>> split_url("training_1/cp.ckpt"), local_path("file:///tmp/cp.ckpt")
    ((None, 'training_1/cp.ckpt'), '/tmp/cp.ckpt')
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, BinaryIO, ContextManager, Protocol, Union, runtime_checkable

from savepoint.errors import ConfigError, MissingDependencyError

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$", re.DOTALL)
# the packages fsspec needs for the common object stores: named in the error when missing
_EXTRAS = {"s3": 'pip install "savepoint[remote]" (fsspec and s3fs)',
           "s3a": 'pip install "savepoint[remote]" (fsspec and s3fs)',
           "gs": 'pip install "savepoint[remote]" gcsfs',
           "gcs": 'pip install "savepoint[remote]" gcsfs',
           "az": 'pip install "savepoint[remote]" adlfs',
           "abfs": 'pip install "savepoint[remote]" adlfs',
           "abfss": 'pip install "savepoint[remote]" adlfs'}
_BACKENDS: dict[str, Any] = {}
_GUARD = threading.Lock()


@runtime_checkable
class Backend(Protocol):
    """What a storage backend provides; paths are the user's strings (URLs for remote ones).

    Writers commit atomically (``commit_strategy``: ``"rename"`` or ``"put"``); ``read_range``
    is a ranged read; ``link_replace`` makes ``target`` hold ``source``'s bytes in one atomic
    step (a hard link locally, a server-side copy on an object store).

    Example:
        >>> from savepoint.saving.storage.remote import FsspecBackend
        >>> isinstance(FsspecBackend("memory"), Backend)
        True
    """

    commit_strategy: str

    def exists(self, path: str) -> bool: ...
    def isdir(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...
    def list_tree(self, path: str) -> list[str]: ...
    def makedirs(self, path: str) -> None: ...
    def remove(self, path: str, missing_ok: bool = True) -> None: ...
    def remove_tree(self, path: str) -> None: ...
    def file_size(self, path: str) -> int: ...
    def identity(self, path: str) -> Any: ...
    def read_bytes(self, path: str) -> bytes: ...
    def read_range(self, path: str, offset: int, size: int) -> bytes: ...
    def map_file(self, path: str) -> memoryview: ...
    def open_read(self, path: str) -> BinaryIO: ...
    def atomic_writer(self, path: str) -> Any: ...
    def atomic_path(self, path: str) -> ContextManager[str]: ...
    def link_replace(self, source: str, target: str) -> None: ...
    def temp_dir_for(self, path: str) -> str: ...
    def commit_directory(self, temp_dir: str, path: str) -> None: ...


def split_url(path: Union[str, "os.PathLike[str]"]) -> tuple[Union[str, None], str]:
    """``(scheme, rest)`` of a ``scheme://rest`` URL, or ``(None, path)`` for a plain path.

    Example:
        >>> split_url("memory://x/y"), split_url("C:/x")
        (('memory', 'x/y'), (None, 'C:/x'))
    """
    text = os.fspath(path)
    match = _URL.match(text) if "://" in text else None
    if match is None:
        return None, text
    return match.group("scheme").lower(), match.group("rest")


def is_remote(path: Union[str, "os.PathLike[str]"]) -> bool:
    """Whether ``path`` is a URL served by a remote (fsspec) backend; ``file://`` is local.

    Example:
        >>> is_remote("s3://b/k"), is_remote("file:///tmp/x"), is_remote("/tmp/x")
        (True, False, False)
    """
    scheme, _ = split_url(path)
    return scheme is not None and scheme not in ("file", "local")


def local_path(path: Union[str, "os.PathLike[str]"]) -> str:
    """``path`` as a local filesystem path: a ``file://`` URL loses its scheme.

    Example:
        >>> local_path("file:///data/cp.ckpt"), local_path("cp.ckpt")
        ('/data/cp.ckpt', 'cp.ckpt')
    """
    scheme, rest = split_url(path)
    return rest if scheme in ("file", "local") else os.fspath(path)


def backend_for(path: str) -> Any:
    """The fsspec backend that serves the URL ``path`` (one per scheme, made on first use).

    Raises ``MissingDependencyError`` naming the pip extra when fsspec or the scheme's package
    is not installed, and ``ConfigError`` for a scheme fsspec does not know.

    Example:
        >>> backend_for("memory://bucket/x").commit_strategy
        'put'
    """
    scheme, _ = split_url(path)
    assert scheme is not None, path
    with _GUARD:
        found = _BACKENDS.get(scheme)
        if found is None:
            found = _BACKENDS[scheme] = _make(scheme, path)
        return found


def _make(scheme: str, path: str) -> Any:
    extra = _EXTRAS.get(scheme, 'pip install "savepoint[remote]"')
    try:
        from fsspec.registry import get_filesystem_class, known_implementations, registry
    except ImportError:
        raise MissingDependencyError(
            f"Expected fsspec to be installed to use the URL {path!r}. Received an environment "
            f"without it. Fix: {extra}.") from None
    if scheme not in known_implementations and scheme not in registry:
        raise ConfigError(
            f"Expected a local path or a URL with a storage scheme fsspec knows (s3://, gs://, "
            f"az://, memory://, file://, ...). Received {path!r}, whose scheme {scheme!r} is "
            f"unknown. Fix: check the spelling of the URL, or install and register the fsspec "
            f"filesystem for {scheme!r}.")
    try:
        get_filesystem_class(scheme)
    except ImportError as e:
        raise MissingDependencyError(
            f"Expected the fsspec filesystem for {scheme}:// to be installed to use {path!r}. "
            f"Received: {e}. Fix: {extra}.") from None
    from savepoint.saving.storage.remote import FsspecBackend
    return FsspecBackend(scheme)


__all__ = ["Backend", "backend_for", "is_remote", "local_path", "split_url"]
