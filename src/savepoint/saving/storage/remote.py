"""Remote storage through fsspec: atomic PUTs, concurrent multipart uploads and ranged reads.

An object store cannot rename, so a file is committed by making it visible in one step: a single
PUT, or the completion of a multipart upload (S3 publishes the object only then; the parts are
invisible until it). A writer killed before that step leaves nothing under the name (an
unfinished multipart upload, which the bucket's lifecycle rule reclaims). Other fsspec
filesystems (``memory://``, ...) get the file staged in a local temporary file and put at commit.

Uploads stream: the writer hands every full part (16 MiB) to fsspec's event loop, which uploads
up to eight at once, so memory holds at most those parts, never the file. Reads fetch large
objects as concurrent ranged GETs (eight in flight) streamed into one preallocated buffer. ``link_replace`` is a server-side copy (atomic
per object, like the local hard link it stands in for). A directory is committed by a manifest
object removed first and written last: a reader sees the old directory, the new one, or none,
never a mix (``commit_directory``).

Credentials and endpoints come from the standard environment (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...).

Example:
    >>> b = FsspecBackend("memory")
    >>> with b.atomic_writer("memory://doc/x.bin") as f:
    ...     _ = f.write(b"hello")
    >>> b.read_bytes("memory://doc/x.bin"), b.read_range("memory://doc/x.bin", 1, 3)
    (b'hello', b'ell')
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import io
import os
import posixpath
import shutil
import tempfile
import threading
from typing import Any, BinaryIO, Iterator, Optional

from savepoint.errors import CheckpointNotFoundError, FormatError, SavepointError, StorageError
from savepoint.saving.storage.failures import read_error, storage_error

PART_BYTES = 16 << 20     # one multipart-upload part / one ranged GET
CONCURRENCY = 8           # parts in flight per file: bounds memory to CONCURRENCY * PART_BYTES
_MIN_PART_BYTES = 5 << 20  # S3 refuses smaller parts, except the last
_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"}
_pool_state: dict[str, Any] = {}
_pool_lock = threading.Lock()


def _pool() -> cf.ThreadPoolExecutor:
    """The I/O thread pool of this process (a forked child makes its own: threads do not fork)."""
    with _pool_lock:
        if _pool_state.get("pid") != os.getpid():
            _pool_state["pool"] = cf.ThreadPoolExecutor(CONCURRENCY * 2, "savepoint-remote")
            _pool_state["pid"] = os.getpid()
        return _pool_state["pool"]


def _step(operation: str, path: str) -> None:
    from savepoint.saving import storage  # the crash-injection hook lives there
    storage._step(operation, path)


def _failed(error: BaseException, path: str, reading: bool = False) -> BaseException:
    """Any failure of the remote call as a ``SavepointError`` naming ``path``."""
    if isinstance(error, SavepointError):
        return error
    if isinstance(error, FileNotFoundError) and reading:
        return _missing(path)
    if isinstance(error, OSError):
        return read_error(error, path) if reading else storage_error(error, path)
    verb = "read" if reading else "write"
    return StorageError(None, f"Could not {verb} {path!r}: {type(error).__name__}: {error}. "
                              f"Fix: check the URL, the credentials and the endpoint "
                              f"(AWS_ENDPOINT_URL, ...), then try again.")


def _missing(path: str) -> CheckpointNotFoundError:
    return CheckpointNotFoundError(
        f"Expected a file at {path!r}. Received a path that does not exist. "
        "Fix: check the path or prefix (and that the save finished).")


class FsspecBackend:
    """The storage backend for one fsspec protocol (``"s3"``, ``"memory"``, ...).

    Example:
        >>> b = FsspecBackend("memory"); b.write_bytes("memory://doc/a/b", b"1")
        >>> b.listdir("memory://doc/a"), b.exists("memory://doc/a/b"), b.isdir("memory://doc/a")
        (['b'], True, True)
    """

    commit_strategy = "put"

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.object_store = scheme in _OBJECT_STORES
        self._fs: Any = None
        self._pid = -1

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (made again in a forked child: its event loop does not fork)."""
        if self._fs is None or self._pid != os.getpid():
            import fsspec
            options: dict = {"use_listings_cache": False}  # it would hide what we just put
            if self._multipart_scheme():  # completing a large upload can take longer than the
                options["config_kwargs"] = {"read_timeout": 300}  # default 15 s (then a retry)
            try:
                self._fs = fsspec.filesystem(self.scheme, **options)
            except TypeError:
                self._fs = fsspec.filesystem(self.scheme)
            self._pid = os.getpid()
        return self._fs

    def _multipart_scheme(self) -> bool:
        return self.scheme in ("s3", "s3a")

    def _multipart(self) -> bool:
        return hasattr(self.fs, "call_s3")

    # --- queries ------------------------------------------------------------------------------
    def _info(self, path: str) -> Optional[dict]:
        try:
            return self.fs.info(path)
        except FileNotFoundError:
            return None
        except Exception as e:  # noqa: BLE001 (botocore, aiohttp ...: all become StorageError)
            raise _failed(e, path, reading=True) from e

    def exists(self, path: str) -> bool:
        return self._info(path) is not None

    def isdir(self, path: str) -> bool:
        info = self._info(path)
        return info is not None and info.get("type") == "directory"

    def listdir(self, path: str) -> list[str]:
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            raise _missing(path) from None
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path, reading=True) from e
        base = self.fs._strip_protocol(path).rstrip("/")
        names = {posixpath.basename(p.rstrip("/")) for p in entries
                 if p.rstrip("/") != base}
        if not names and not self.isdir(path):
            raise _missing(path)
        return sorted(names)

    def list_tree(self, path: str) -> list[str]:
        base = self.fs._strip_protocol(path).rstrip("/") + "/"
        try:
            found = self.fs.find(path)
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path, reading=True) from e
        return sorted(p[len(base):] for p in found if p.startswith(base))

    def file_size(self, path: str) -> int:
        info = self._info(path)
        if info is None:
            raise _missing(path)
        if info.get("type") == "directory":
            raise FormatError(f"Expected a file at {path!r}. Received a directory (a key "
                              f"prefix). Fix: pass the path of the file itself.")
        return int(info["size"])

    def identity(self, path: str) -> Any:
        """What tells one version of the object from the next (ETag, size, mtime), or None."""
        info = self._info(path)
        if info is None:
            return None
        return (info.get("ETag") or info.get("etag"), info.get("size"),
                str(info.get("LastModified") or info.get("mtime") or info.get("created")))

    def mtime(self, path: str) -> Optional[float]:
        """Modification time in seconds, or None for a missing object."""
        info = self._info(path)
        if info is None:
            return None
        stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
        return stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp or 0)

    # --- removal ------------------------------------------------------------------------------
    def makedirs(self, path: str) -> None:
        if self.object_store or not path:
            return  # key prefixes need no creating; a missing bucket fails the first write
        try:
            self.fs.makedirs(path, exist_ok=True)
        except FileExistsError:
            pass
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path) from e

    def remove(self, path: str, missing_ok: bool = True) -> None:
        _step("remove", path)
        if not missing_ok and not self.exists(path):
            raise _missing(path)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            if not missing_ok:
                raise _missing(path) from None
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path) from e

    def remove_tree(self, path: str) -> None:
        if not self.exists(path):
            return
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path) from e

    # --- reading ------------------------------------------------------------------------------
    def read_range(self, path: str, offset: int, size: int) -> bytes:
        """Bytes ``[offset, offset + size)`` of the object (fewer at its end): one ranged GET."""
        if size <= 0:
            return b""
        try:
            return self.fs.cat_file(path, start=offset, end=offset + size)
        except FileNotFoundError:
            raise _missing(path) from None
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path, reading=True) from e

    def submit(self, coroutine: Any) -> cf.Future:
        """Run ``coroutine`` on the filesystem's event loop; a future of its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.fs.loop)

    def _fetch(self, path: str) -> memoryview:
        size = self.file_size(path)
        if size <= PART_BYTES:
            return memoryview(self.read_range(path, 0, size) if size else b"")
        out = bytearray(size)
        view = memoryview(out)
        # S3 streams each range into ``out`` (no buffer per range): CONCURRENCY ranges cover the
        # object in one round (a server that re-reads the object per range, as moto does, sees
        # as few as possible); other filesystems return each range as bytes: PART_BYTES each
        step = max(PART_BYTES, -(-size // CONCURRENCY)) if self._multipart() else PART_BYTES
        starts = list(range(0, size, step))

        def fetch(start: int) -> cf.Future:
            end = min(size, start + step)
            if self._multipart():  # S3: the response streams straight into ``out``
                return self.submit(self._get_into(path, start, view[start:end]))
            if getattr(self.fs, "async_impl", False):  # no thread per range (see uploads.py)
                return self.submit(self.fs._cat_file(path, start=start, end=end))
            return _pool().submit(self.fs.cat_file, path, start=start, end=end)

        # a window of CONCURRENCY ranges in flight bounds memory to the result + that window
        pending = {fetch(s): s for s in starts[:CONCURRENCY]}
        queued = starts[CONCURRENCY:]
        try:
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    start = pending.pop(future)
                    data = future.result()
                    got = data if isinstance(data, int) else len(data)
                    if got != min(step, size - start):
                        raise StorageError(None, f"Could not read {path!r}: it changed while "
                                                 f"being read (short range at {start}). Fix: "
                                                 f"try again.")
                    if not isinstance(data, int):
                        out[start:start + got] = data
                    if queued:
                        start = queued.pop(0)
                        pending[fetch(start)] = start
        except FileNotFoundError:
            raise _missing(path) from None
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path, reading=True) from e
        finally:
            for future in pending:
                future.cancel()
        return memoryview(out)

    async def _get_into(self, path: str, start: int, view: memoryview) -> int:
        """One ranged GET of ``len(view)`` bytes from ``start``, read into ``view``."""
        bucket, key, _ = self.fs.split_path(path)
        reply = await self.fs._call_s3("get_object", Bucket=bucket, Key=key,
                                       Range=f"bytes={start}-{start + len(view) - 1}")
        body, got = reply["Body"], 0
        try:
            while got < len(view):
                n = await body.readinto(view[got:])
                if n == 0:
                    break
                got += n
        finally:
            body.close()
        return got

    def read_bytes(self, path: str) -> bytes:
        view = self._fetch(path)
        return view.obj if isinstance(view.obj, bytes) else bytes(view)

    def map_file(self, path: str) -> memoryview:
        return self._fetch(path).toreadonly()

    def open_read(self, path: str) -> BinaryIO:
        """The whole object fetched (concurrently), as a seekable in-memory file: h5py and
        zipfile make many small reads, each of which would otherwise be a GET."""
        return io.BytesIO(self.read_bytes(path))

    # --- writing ------------------------------------------------------------------------------
    def atomic_writer(self, path: str) -> Any:
        from savepoint.saving.storage.uploads import MultipartWriter, StagedWriter
        return MultipartWriter(self, path) if self._multipart() else StagedWriter(self, path)

    def write_bytes(self, path: str, data: Any) -> None:
        with self.atomic_writer(path) as f:
            f.write(data)

    def put_local(self, local: str, path: str) -> None:
        """Upload the local file ``local`` to ``path``: visible whole or not at all."""
        if self._multipart():
            from savepoint.saving.storage.uploads import MultipartWriter
            writer = MultipartWriter(self, path)
            try:
                with open(local, "rb", buffering=0) as src:
                    while True:
                        chunk = src.read(PART_BYTES)
                        if not chunk:
                            break
                        writer.write(chunk)
            except BaseException:
                writer.abort()
                raise
            writer.commit()
            return
        _step("put", path)
        try:
            self.fs.put_file(local, path)
        except Exception as e:  # noqa: BLE001
            raise _failed(e, path) from e

    @contextlib.contextmanager
    def atomic_path(self, path: str) -> Iterator[str]:
        """A local temporary path for a library that needs one (h5py, zipfile); uploaded to
        ``path`` on success, deleted either way."""
        directory = tempfile.mkdtemp(prefix="savepoint-upload-")
        temp = os.path.join(directory, posixpath.basename(path.rstrip("/")) or "file")
        try:
            yield temp
            self.put_local(temp, path)
        except OSError as e:
            if isinstance(e, SavepointError):
                raise
            raise storage_error(e, path) from e
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def link_replace(self, source: str, target: str) -> None:
        """``target`` <- ``source``'s bytes by a server-side copy: the new object appears whole."""
        _step("link", target)
        try:
            self.fs.copy(source, target)
        except FileNotFoundError:
            raise _missing(source) from None
        except Exception as e:  # noqa: BLE001
            raise _failed(e, target) from e

    # --- directories --------------------------------------------------------------------------
    def temp_dir_for(self, path: str) -> str:
        """A local directory where a whole directory is assembled before it is uploaded."""
        return tempfile.mkdtemp(prefix="savepoint-upload-")

    def commit_directory(self, temp_dir: str, path: str,
                         manifest: Optional[str] = None) -> None:
        """Upload the finished local ``temp_dir`` as ``path``; remove ``temp_dir``.

        The *manifest* is the top-level file that commits the directory: ``manifest``, or else
        the top-level file the writer wrote last (a model directory's ``fingerprint.json``,
        which holds the sha256 of every other file). Order: the old manifest is removed (the
        old directory stops being a committed one), the other files are uploaded (nested ones
        concurrently), the manifest last, then files of the old directory the new one lacks
        are removed. A reader that checks the manifest finds the old directory, the new one,
        or none (a clear error), never a mix; a killed upload leaves an uncommitted directory
        that the next save replaces."""
        from savepoint.saving.storage.directories import list_tree as local_tree
        path = path.rstrip("/")
        try:
            new = local_tree(temp_dir)
            top = [r for r in new if "/" not in r]
            if manifest is None and top:
                manifest = max(top, key=lambda r: (os.stat(os.path.join(temp_dir, r))
                                                   .st_mtime_ns, r))
            old = self.list_tree(path) if self.exists(path) else []
            if manifest in old:
                self.remove(f"{path}/{manifest}")
            rest = [r for r in new if r != manifest]
            # a pool of its own: each upload may wait on part uploads in the shared pool
            with cf.ThreadPoolExecutor(4, "savepoint-remote-dir") as files:
                _wait_all([files.submit(self.put_local, os.path.join(temp_dir, r),
                                        f"{path}/{r}") for r in rest if "/" in r])
            for rel in [r for r in rest if "/" not in r] + ([manifest] if manifest else []):
                self.put_local(os.path.join(temp_dir, rel), f"{path}/{rel}")
            for rel in sorted(set(old) - set(new)):
                self.remove(f"{path}/{rel}")
        finally:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_all(futures: list) -> None:
    """Wait for every future; raise the first failure (after all have finished)."""
    first: Optional[BaseException] = None
    for future in futures:
        try:
            future.result()
        except BaseException as e:  # noqa: BLE001
            first = first or e
    if first is not None:
        raise first


__all__ = ["CONCURRENCY", "FsspecBackend", "PART_BYTES"]
