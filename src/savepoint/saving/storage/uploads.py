"""Writers that publish an object in one step: S3 multipart uploads, staged puts elsewhere.

``MultipartWriter`` streams: every full part (``remote.PART_BYTES``) goes to the I/O pool, at
most ``remote.CONCURRENCY`` at once, and the object appears only when ``commit`` completes the
upload (or, for a file smaller than one part, puts it whole). ``StagedWriter`` stages the bytes
in a local temporary file and puts it at ``commit``, for fsspec filesystems without multipart
uploads. Both offer what ``storage.AtomicWriter`` does: ``write``, ``tell``, ``sync``,
``commit``, ``abort`` and ``with``; ``storage.FAULT_HOOK`` sees ``("put", path)`` just before the
object is published.

Example:
    >>> from savepoint.saving.storage.remote import FsspecBackend
    >>> with StagedWriter(FsspecBackend("memory"), "memory://uploads/a.bin") as w:
    ...     _ = w.write(b"abc")
    >>> FsspecBackend("memory").read_bytes("memory://uploads/a.bin")
    b'abc'
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import tempfile
from types import TracebackType
from typing import Any, BinaryIO, Optional

from savepoint.saving.storage import remote
from savepoint.saving.storage.failures import storage_error
from savepoint.saving.storage.remote import _MIN_PART_BYTES, _failed, _step, _wait_all


def _as_bytes_view(data: Any, path: str) -> memoryview:
    view = memoryview(data)
    if not view.c_contiguous:
        raise ValueError(f"Expected a C-contiguous buffer to write to {path!r}. Received a "
                         f"non-contiguous one. Fix: pass numpy.ascontiguousarray(x).")
    return view.cast("B") if view.ndim != 1 or view.format != "B" else view


class _WriterBase:
    """What ``storage.AtomicWriter`` offers: write, tell, sync, commit, abort, ``with``."""

    path: str
    bytes_written: int

    def tell(self) -> int:
        return self.bytes_written

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()  # type: ignore[attr-defined]
        else:
            self.abort()  # type: ignore[attr-defined]


class MultipartWriter(_WriterBase):
    """A streaming S3 upload: a single PUT for a small file, else a multipart upload whose
    parts go up concurrently; the object appears only when ``commit`` completes it.

    Example:
        >>> MultipartWriter.__name__
        'MultipartWriter'
    """

    def __init__(self, backend: "remote.FsspecBackend", path: str) -> None:
        self.path, self._backend = path, backend
        self._bucket, self._key, _ = backend.fs.split_path(path)
        self._buffer = bytearray()
        self._upload_id: Optional[str] = None
        self._parts: list[cf.Future] = []
        self.bytes_written = 0
        self._done = False

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self._backend.fs.call_s3(method, Bucket=self._bucket, Key=self._key, **kwargs)

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError(f"Expected an open writer for {self.path!r}. Received a closed one.")
        view = _as_bytes_view(data, self.path)
        done = 0
        while done < len(view):
            take = min(len(view) - done, remote.PART_BYTES - len(self._buffer))
            self._buffer += view[done:done + take]
            done += take
            if len(self._buffer) == remote.PART_BYTES:
                self._send_part()
        self.bytes_written += done
        return done

    def _send_part(self) -> None:
        try:
            if self._upload_id is None:
                self._upload_id = self._call("create_multipart_upload")["UploadId"]
            running = [f for f in self._parts if not f.done()]
            if len(running) >= remote.CONCURRENCY:  # bound memory: wait for the oldest part
                running[0].result()
        except BaseException as e:
            self.abort()
            raise _failed(e, self.path) from e
        body, self._buffer = self._buffer, bytearray()  # handed over whole: no copy
        number = len(self._parts) + 1
        # a coroutine on fsspec's event loop: concurrency without a thread per part (threads
        # would contend for the GIL with the caller producing the next part)
        self._parts.append(self._backend.submit(self._upload_part(number, body)))

    async def _upload_part(self, number: int, body: bytearray) -> dict:
        reply = await self._backend.fs._call_s3(
            "upload_part", Bucket=self._bucket, Key=self._key, PartNumber=number,
            UploadId=self._upload_id, Body=body)
        return {"PartNumber": number, "ETag": reply["ETag"]}

    def sync(self) -> None:
        """Send what is buffered (when S3 takes it as a part: 5 MiB or more) and wait for the
        parts in flight (what can fail: the network, the quota); ``commit`` then only
        completes the upload."""
        try:
            if self._upload_id is not None and len(self._buffer) >= _MIN_PART_BYTES:
                self._send_part()
            _wait_all(self._parts)
        except BaseException as e:
            self.abort()
            raise _failed(e, self.path) from e

    def commit(self, sync_dir: bool = True) -> None:
        """Publish the object: one PUT, or the last part and the multipart completion."""
        if self._done:
            return
        try:
            if self._upload_id is None:
                _step("put", self.path)
                self._call("put_object", Body=self._buffer)
            else:
                if self._buffer:
                    self._send_part()
                _wait_all(self._parts)
                parts = [f.result() for f in self._parts]
                _step("put", self.path)
                try:
                    self._call("complete_multipart_upload", UploadId=self._upload_id,
                               MultipartUpload={"Parts": parts})
                except Exception:  # noqa: BLE001
                    if not self._completed(parts):  # a retry of a completion that landed
                        raise
        except BaseException as e:
            self.abort()
            raise _failed(e, self.path) from e
        self._done = True
        self._buffer = bytearray()

    def _completed(self, parts: list[dict]) -> bool:
        """Whether the object now under the name is this upload (a completion whose reply was
        lost, then retried, fails although the object was published): S3's multipart ETag is
        the md5 of the parts' md5s, then ``-<number of parts>``."""
        import hashlib
        try:
            head = self._call("head_object")
            digests = b"".join(bytes.fromhex(str(p["ETag"]).strip('"')) for p in parts)
        except Exception:  # noqa: BLE001 (an ETag that is not an md5: cannot tell, so no)
            return False
        expected = f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"  # noqa: S324 (S3's)
        return (head.get("ContentLength") == self.bytes_written
                and str(head.get("ETag", "")).strip('"') == expected)

    def abort(self) -> None:
        """Drop the upload; nothing appears under the name."""
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        for future in self._parts:
            future.cancel()
        if self._upload_id is not None:
            with contextlib.suppress(BaseException):
                cf.wait(self._parts)
                self._call("abort_multipart_upload", UploadId=self._upload_id)


class StagedWriter(_WriterBase):
    """For fsspec filesystems without multipart uploads: the bytes go to a local temporary
    file, put whole at ``commit`` (``memory://`` stores the object at once).

    Example:
        >>> from savepoint.saving.storage.remote import FsspecBackend
        >>> w = StagedWriter(FsspecBackend("memory"), "memory://doc/s.bin")
        >>> _ = w.write(b"ab"); w.commit(); FsspecBackend("memory").read_bytes("memory://doc/s.bin")
        b'ab'
    """

    def __init__(self, backend: "remote.FsspecBackend", path: str) -> None:
        self.path, self._backend = path, backend
        handle, self._temp = tempfile.mkstemp(prefix="savepoint-upload-")
        self._file: Optional[BinaryIO] = os.fdopen(handle, "wb")
        self.bytes_written = 0

    def write(self, data: Any) -> int:
        if self._file is None:
            raise ValueError(f"Expected an open writer for {self.path!r}. Received a closed one.")
        view = _as_bytes_view(data, self.path)
        try:
            self._file.write(view)
        except OSError as e:
            raise storage_error(e, self.path) from e
        self.bytes_written += len(view)
        return len(view)

    def sync(self) -> None:
        if self._file is not None:
            self._file.flush()

    def commit(self, sync_dir: bool = True) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
            self._file = None
            self._backend.put_local(self._temp, self.path)
        finally:
            self.abort()

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(OSError):
            os.remove(self._temp)


__all__ = ["MultipartWriter", "StagedWriter"]
