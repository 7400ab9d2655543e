"""Reading stored files: whole bytes or text, a stream, or a read-only memory map.

Example:
    >>> import tempfile, os
    >>> from savepoint.saving.storage import write_bytes_atomically
    >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"ab")
    >>> read_bytes(p), file_size(p)
    (b'ab', 2)
"""

from __future__ import annotations

import mmap
import os
import stat
from typing import BinaryIO

from savepoint.errors import FormatError
from savepoint.saving.storage.failures import read_error
from savepoint.saving.storage.paths import PathLike, _fspath, _missing, _remote

_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"),
          (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"))


def _not_a_file(path: str, mode: int) -> FormatError:
    kind = next((name for test, name in _KINDS if test(mode)), "special file")
    return FormatError(f"Expected a regular file at {path!r}. Received a {kind}. Fix: pass the "
                       f"path of the file itself, or move the {kind} away and re-save.")


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)  # a FIFO opens at once instead of waiting


def _open_file(path: PathLike, buffering: int = -1) -> BinaryIO:
    """``path`` opened for binary reading, refused unless it is a regular file: a directory, a
    FIFO (which would block the reader forever) or a device raises ``FormatError``; a missing
    file ``CheckpointNotFoundError``; any other OS failure ``StorageError``."""
    path = _fspath(path)
    try:
        f = open(path, "rb", buffering=buffering, opener=_nonblocking)
    except FileNotFoundError:
        raise _missing(path) from None
    except IsADirectoryError as e:
        raise _not_a_file(path, stat.S_IFDIR) from e
    except OSError as e:
        raise read_error(e, path) from e
    try:
        mode = os.fstat(f.fileno()).st_mode
    except OSError as e:
        f.close()
        raise read_error(e, path) from e
    if not stat.S_ISREG(mode):
        f.close()
        raise _not_a_file(path, mode)
    return f


def read_bytes(path: PathLike) -> bytes:
    """Return the whole content of ``path``; a missing file raises ``CheckpointNotFoundError``.

    Example:
        >>> read_bytes("/nonexistent/file")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    remote = _remote(path)
    if remote is not None:
        return remote.read_bytes(os.fspath(path))
    with _open_file(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise read_error(e, _fspath(path)) from e


def read_text(path: PathLike) -> str:
    """Return the UTF-8 text of ``path``.

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving.storage import replace_text_atomically
        >>> p = os.path.join(tempfile.mkdtemp(), "t.txt"); replace_text_atomically(p, "hi")
        >>> read_text(p)
        'hi'
    """
    return read_bytes(path).decode("utf-8")


def open_read(path: PathLike) -> BinaryIO:
    """Open ``path`` for binary reading (the caller closes it).

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"ab")
        >>> with open_read(p) as f: f.read()
        b'ab'
    """
    remote = _remote(path)
    if remote is not None:
        return remote.open_read(os.fspath(path))
    return _open_file(path)


def map_file(path: PathLike) -> memoryview:
    """Map ``path`` read-only into memory and return a ``memoryview`` of its bytes.

    The mapping stays alive as long as the returned view (or arrays made from it with
    ``np.frombuffer``) is referenced. An empty file returns an empty view.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"\\x01\\x00")
        >>> np.frombuffer(map_file(p), dtype="<u2")[0]
        np.uint16(1)
    """
    remote = _remote(path)
    if remote is not None:  # fetched by concurrent ranged reads into one buffer
        return remote.map_file(os.fspath(path))
    with _open_file(path, buffering=0) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return memoryview(b"")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise read_error(e, _fspath(path)) from e
    return memoryview(mapped)


def file_size(path: PathLike) -> int:
    """Size of ``path`` in bytes.

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"abc")
        >>> file_size(p)
        3
    """
    remote = _remote(path)
    if remote is not None:
        return remote.file_size(os.fspath(path))
    path = _fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as e:
        raise read_error(e, path) from e
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_file(path, info.st_mode)
    return info.st_size


def read_range(source: "PathLike | BinaryIO", offset: int, size: int) -> bytes:
    """Up to ``size`` bytes of ``source`` from ``offset``: a ranged read. ``source`` is a path
    (a remote one is one ranged GET) or a file from :func:`open_read` (``os.pread`` on a real
    file, which leaves its position alone; seek and read on an in-memory one).

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"abcdef")
        >>> read_range(p, 2, 3), read_range(open_read(p), 4, 9)
        (b'cde', b'ef')
    """
    if isinstance(source, (str, os.PathLike)):
        remote = _remote(source)
        if remote is not None:
            return remote.read_range(os.fspath(source), offset, size)
        with _open_file(source, buffering=0) as f:
            return read_range(f, offset, size)
    try:
        fd = source.fileno()
    except (OSError, AttributeError, ValueError):  # io.BytesIO: a remote file fetched whole
        view = source.getbuffer() if hasattr(source, "getbuffer") else None
        if view is not None:
            return bytes(view[offset:offset + size])
        source.seek(offset)
        return source.read(size)
    try:
        return os.pread(fd, size, offset)
    except OSError as e:
        raise read_error(e, getattr(source, "name", "?")) from e


def identity(path: PathLike) -> object:
    """What tells this version of the file from the next one written under the same name
    (inode, size, mtime locally; ETag, size, mtime on an object store), or None if missing.

    Example:
        >>> identity("/nonexistent/file") is None
        True
    """
    remote = _remote(path)
    if remote is not None:
        return remote.identity(os.fspath(path))
    try:
        st = os.stat(_fspath(path))
    except OSError:
        return None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)


def mtime_ns(path: PathLike) -> "int | None":
    """Last modification time of ``path`` in nanoseconds, or None if it is missing.

    Example:
        >>> mtime_ns("/nonexistent/file") is None
        True
    """
    remote = _remote(path)
    if remote is not None:
        seconds = remote.mtime(os.fspath(path))
        return None if seconds is None else int(seconds * 1e9)
    try:
        return os.stat(_fspath(path)).st_mtime_ns
    except OSError:
        return None
