"""The one place that touches files: atomic commits, fsync, streaming writes and mapped reads.

Every byte savepoint writes or reads goes through this module. Writers never expose a
half-written file under its final name: they write ``.<name>.tmp-<random>`` in the target's
directory, fsync it, ``os.replace`` it over the target and fsync the directory. If anything fails
before the commit, the temporary file is removed and the target is left as it was. A writer
killed before it could clean up leaves its temporary behind; the next write of the same target
removes it (``remove_stale_temps_of``: only temporaries of dead processes). OS failures become
``StorageError`` (``storage_error`` / ``read_error``), and readers refuse anything that is not a
regular file (a directory, a FIFO) with ``FormatError``.

Example:
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_writer(os.path.join(d, "a.bin")) as f:
    ...     _ = f.write(memoryview(np.arange(4, dtype=np.int32)))
    >>> bytes(map_file(os.path.join(d, "a.bin")))[:4]
    b'\\x00\\x00\\x00\\x00'
"""

from __future__ import annotations

import contextlib
import os
import secrets
from types import TracebackType
from typing import Any, BinaryIO, Callable, ContextManager, Iterator, Union

from savepoint.errors import CheckpointNotFoundError, SavepointError, StorageError  # noqa: F401
from savepoint.saving.storage.backend import (backend_for, is_remote, local_path,  # noqa: F401
                                              split_url)
from savepoint.saving.storage.failures import read_error, storage_error
from savepoint.saving.storage.paths import (  # noqa: F401 (the package's names)
    Buffer, PathLike, _OPEN_TEMPS, _TMP_MARKER, _fspath, _missing, _remote, fsync_dir, is_temp_name,
    temp_name_for)

_WRITEBACK_BYTES = 32 << 20  # start the disk write of every 32 MiB written (see _start_writeback)
_BUFFER_BYTES = 1 << 20
# Crash-injection tests set this: it is called as (operation, path) before every rename, link and
# removal, the steps whose order crash consistency rests on (tests/saving/test_prefix_rewrite.py).
FAULT_HOOK: "Callable[[str, str], None] | None" = None


def _step(operation: str, path: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(operation, path)


class AtomicWriter:
    """A binary file that appears under its final name only when committed.

    Use through :func:`atomic_writer`. ``write`` accepts any buffer (``bytes``, ``memoryview``,
    a C-contiguous numpy array) and writes it without copying it into Python-level buffers.
    Leaving the ``with`` block normally commits (fsync, rename, fsync dir); leaving it through an
    exception (or calling :meth:`abort`) removes the temporary file and leaves the target untouched.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = _fspath(path)
        remove_stale_temps_of(self.path)
        self.temp_path = temp_name_for(self.path)
        try:
            self._file: BinaryIO | None = direct.open_temp(self.temp_path, _BUFFER_BYTES)
        except OSError as e:
            raise storage_error(e, self.path) from e
        _OPEN_TEMPS.add(self.temp_path)
        self.bytes_written = 0
        self._writeback_from = 0
        self._synced = -1  # bytes_written at the last sync(): commit skips a repeat fsync
        self._done = False

    def write(self, data: Buffer) -> int:
        """Append ``data``; return the number of bytes written."""
        if self._file is None:
            raise ValueError(f"Expected an open writer for {self.path!r}. Received a closed one.")
        view = memoryview(data)
        if not view.c_contiguous:
            raise ValueError(
                f"Expected a C-contiguous buffer to write to {self.path!r}. Received a "
                "non-contiguous one. Fix: pass numpy.ascontiguousarray(x).")
        view = view.cast("B") if view.ndim != 1 or view.format != "B" else view
        try:
            total = self._file.write(view)  # buffered: large views go straight to the OS
        except OSError as e:
            raise storage_error(e, self.path) from e
        self.bytes_written += total
        if self.bytes_written - self._writeback_from >= _WRITEBACK_BYTES:
            # what is still in the Python buffer is not in the file yet: leave it for next time
            written = self.bytes_written - _BUFFER_BYTES
            _start_writeback(self._file.fileno(), self._writeback_from,
                             written - self._writeback_from)
            self._writeback_from = written
        return total

    def tell(self) -> int:
        """Number of bytes written so far."""
        return self.bytes_written

    def sync(self) -> None:
        """Flush and fsync the temporary file (what can fail for lack of space or an I/O
        error), so that a later ``commit`` only renames. Writing may continue afterwards."""
        if self._file is None:
            raise ValueError(f"Expected an open writer for {self.path!r}. Received a closed one.")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise storage_error(e, self.path) from e
        self._synced = self.bytes_written

    def commit(self, sync_dir: bool = True) -> None:
        """fsync the temporary file, rename it over the target and fsync the directory (unless
        ``sync_dir=False``: the caller commits more files there and fsyncs it after the last)."""
        if self._done:
            return
        assert self._file is not None
        try:
            if self._synced != self.bytes_written:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            _step("replace", self.path)
            os.replace(self.temp_path, self.path)
        except BaseException as e:
            self.abort()
            if isinstance(e, OSError) and not isinstance(e, SavepointError):
                raise storage_error(e, self.path) from e
            raise
        self._done = True
        _OPEN_TEMPS.discard(self.temp_path)
        if sync_dir:
            fsync_dir(os.path.dirname(self.path))

    def abort(self) -> None:
        """Close and delete the temporary file; the target is left untouched."""
        if self._done:
            return
        self._done = True
        if self._file is not None:
            try:
                self._file.close()  # flushes the buffer: may fail again on a full disk
            except OSError:
                pass
            finally:
                self._file = None
        try:
            os.remove(self.temp_path)
        except FileNotFoundError:
            pass
        _OPEN_TEMPS.discard(self.temp_path)

    def __enter__(self) -> "AtomicWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def atomic_writer(path: PathLike) -> AtomicWriter:
    """Open ``path`` for an atomic, streaming binary write (use as a context manager).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> with atomic_writer(p) as f:
        ...     _ = f.write(b"hello")
        >>> read_bytes(p)
        b'hello'
    """
    remote = _remote(path)
    if remote is not None:
        return remote.atomic_writer(os.fspath(path))  # same calls; commits by PUT
    return AtomicWriter(path)


def atomic_path(path: PathLike) -> ContextManager[str]:
    """Yield a temporary path beside ``path`` for a library that writes files itself (h5py);
    on success fsync it and rename it over ``path``, on failure delete it. For a remote URL the
    temporary path is a local file, uploaded to ``path`` on success.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "w.h5")
        >>> with atomic_path(p) as tmp:
        ...     _ = open(tmp, "wb").write(b"x")
        >>> read_bytes(p)
        b'x'
    """
    remote = _remote(path)
    if remote is not None:
        return remote.atomic_path(os.fspath(path))
    return _local_atomic_path(path)


@contextlib.contextmanager
def _local_atomic_path(path: PathLike) -> Iterator[str]:
    path = _fspath(path)
    remove_stale_temps_of(path)
    temp = temp_name_for(path)
    _OPEN_TEMPS.add(temp)
    try:
        yield temp
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _step("replace", path)
        os.replace(temp, path)
    except BaseException as e:
        try:
            os.remove(temp)
        except OSError:
            pass  # never there, or the disk refuses: the error that matters is ``e``
        if isinstance(e, OSError) and not isinstance(e, SavepointError):
            # the library writing into ``temp`` (h5py, zipfile) or the commit hit the OS
            raise storage_error(e, path) from e
        raise
    finally:
        _OPEN_TEMPS.discard(temp)
    fsync_dir(os.path.dirname(path))


def write_bytes_atomically(path: PathLike, data: Buffer) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, fsync dir).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> write_bytes_atomically(p, b"abc"); read_bytes(p)
        b'abc'
    """
    with atomic_writer(path) as f:
        f.write(data)


def append_bytes(path: PathLike, data: Buffer) -> None:
    """Append ``data`` to the file ``path`` (a temporary file still being written; the caller
    commits it atomically).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); write_bytes_atomically(p, b"ab")
        >>> append_bytes(p, b"c"); read_bytes(p)
        b'abc'
    """
    remote = _remote(path)
    if remote is not None:  # an object cannot grow: put it again, whole
        old = remote.read_bytes(os.fspath(path)) if remote.exists(os.fspath(path)) else b""
        remote.write_bytes(os.fspath(path), old + bytes(memoryview(data).cast("B")))
        return
    try:
        with open(_fspath(path), "ab") as f:
            f.write(data)
    except OSError as e:
        raise storage_error(e, _fspath(path)) from e


def replace_text_atomically(path: PathLike, text: str) -> None:
    """Replace the text file ``path`` with ``text`` (UTF-8) atomically.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "checkpoint")
        >>> replace_text_atomically(p, 'model_checkpoint_path: "cp.ckpt"\\n')
        >>> read_text(p)
        'model_checkpoint_path: "cp.ckpt"\\n'
    """
    write_bytes_atomically(path, text.encode("utf-8"))


def exists(path: PathLike) -> bool:
    """Whether ``path`` exists (file or directory).

    Example:
        >>> exists("/")
        True
    """
    remote = _remote(path)
    if remote is not None:
        return remote.exists(os.fspath(path))
    return os.path.exists(_fspath(path))


def isdir(path: PathLike) -> bool:
    """Whether ``path`` is a directory.

    Example:
        >>> isdir("/")
        True
    """
    remote = _remote(path)
    if remote is not None:
        return remote.isdir(os.fspath(path))
    return os.path.isdir(_fspath(path))


def listdir(path: PathLike) -> list[str]:
    """Sorted names in the directory ``path``.

    Example:
        >>> import tempfile
        >>> listdir(tempfile.mkdtemp())
        []
    """
    remote = _remote(path)
    if remote is not None:
        return remote.listdir(os.fspath(path))
    path = _fspath(path)
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as e:
        raise read_error(e, path) from e


def remove(path: PathLike, missing_ok: bool = True) -> None:
    """Delete the file ``path`` (a missing file is fine unless ``missing_ok=False``).

    Example:
        >>> remove("/nonexistent/file")
    """
    remote = _remote(path)
    if remote is not None:
        return remote.remove(os.fspath(path), missing_ok)
    path = _fspath(path)
    _step("remove", path)
    try:
        os.remove(path)
    except FileNotFoundError:
        if not missing_ok:
            raise _missing(path) from None
    except OSError as e:
        raise storage_error(e, path) from e


def remove_tree(path: PathLike) -> None:
    """Delete the directory ``path`` and everything below it (missing is fine).

    Example:
        >>> remove_tree("/nonexistent/dir")
    """
    import shutil
    remote = _remote(path)
    if remote is not None:
        return remote.remove_tree(os.fspath(path))
    path = _fspath(path)
    _OPEN_TEMPS.discard(path)  # a temporary directory (``temp_dir_for``) given up
    try:
        shutil.rmtree(path) if os.path.isdir(path) else None
    except OSError as e:
        raise storage_error(e, path) from e


def link_replace(source: PathLike, target: PathLike, sync_dir: bool = True) -> None:
    """Make ``target`` name the same bytes as ``source`` in one atomic rename (hard link; a
    copy where the filesystem has none); ``source`` stays. ``sync_dir=False`` leaves the
    directory fsync to the caller (one for several renames).

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); a = os.path.join(d, "a")
        >>> write_bytes_atomically(a, b"x"); link_replace(a, os.path.join(d, "b"))
        >>> read_bytes(os.path.join(d, "b"))
        b'x'
    """
    remote = _remote(target)
    if remote is not None:  # object stores: a server-side copy, atomic per object
        return remote.link_replace(os.fspath(source), os.fspath(target))
    source, target = _fspath(source), _fspath(target)
    temp = temp_name_for(target)
    _OPEN_TEMPS.add(temp)  # a concurrent writer's stale-temp cleanup must not take it
    try:
        try:
            os.link(source, temp)
        except OSError:
            import shutil
            shutil.copyfile(source, temp)
            with open(temp, "rb+") as f:
                os.fsync(f.fileno())
        _step("link", target)
        os.replace(temp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise storage_error(e, target) from e
    finally:
        _OPEN_TEMPS.discard(temp)
    if sync_dir:
        fsync_dir(os.path.dirname(target) or ".")


def makedirs(path: PathLike) -> None:
    """Create the directory ``path`` and its parents (existing ones are fine).

    Example:
        >>> import tempfile, os
        >>> makedirs(os.path.join(tempfile.mkdtemp(), "a", "b"))
    """
    remote = _remote(path)
    if remote is not None:
        return remote.makedirs(os.fspath(path))
    path = _fspath(path)
    if path:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise storage_error(e, path) from e


# Reading and directory-level operations live beside this module; imported last (they use
# the above).
from savepoint.saving.storage import direct  # noqa: E402
from savepoint.saving.storage.direct import _start_writeback, background_writes  # noqa: E402,F401
from savepoint.saving.storage.reading import (file_size, identity, map_file,  # noqa: E402
                                              mtime_ns, open_read, read_bytes, read_range,
                                              read_text)
from savepoint.saving.storage.directories import (commit_directory, list_tree,  # noqa: E402
                                                  remove_stale_temp_files,
                                                  remove_stale_temps_of, temp_dir_for)
