"""Reading stored files: whole bytes or text, a stream, or a read-only memory map.

Example:
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"ab")
    >>> read_bytes(p), file_size(p)
    (b'ab', 2)
"""

from __future__ import annotations

import mmap
import os
from typing import BinaryIO

from savepoint.saving.storage import (PathLike, _fspath, _missing,  # noqa: F401 (doctests)
                                      replace_text_atomically, write_bytes_atomically)


def read_bytes(path: PathLike) -> bytes:
    """Return the whole content of ``path``; a missing file raises ``CheckpointNotFoundError``.

    Example:
        >>> read_bytes("/nonexistent/file")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    path = _fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise _missing(path) from None


def read_text(path: PathLike) -> str:
    """Return the UTF-8 text of ``path``.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "t.txt"); replace_text_atomically(p, "hi")
        >>> read_text(p)
        'hi'
    """
    return read_bytes(path).decode("utf-8")


def open_read(path: PathLike) -> BinaryIO:
    """Open ``path`` for binary reading (the caller closes it).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"ab")
        >>> with open_read(p) as f: f.read()
        b'ab'
    """
    path = _fspath(path)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise _missing(path) from None


def map_file(path: PathLike) -> memoryview:
    """Map ``path`` read-only into memory and return a ``memoryview`` of its bytes.

    The mapping stays alive as long as the returned view (or arrays made from it with
    ``np.frombuffer``) is referenced. An empty file returns an empty view.

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"\\x01\\x00")
        >>> np.frombuffer(map_file(p), dtype="<u2")[0]
        np.uint16(1)
    """
    path = _fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return memoryview(b"")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise _missing(path) from None
    return memoryview(mapped)


def file_size(path: PathLike) -> int:
    """Size of ``path`` in bytes.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"abc")
        >>> file_size(p)
        3
    """
    path = _fspath(path)
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        raise _missing(path) from None
