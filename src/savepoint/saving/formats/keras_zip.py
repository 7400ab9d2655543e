"""The Keras 3 ``.keras`` zip container: write it atomically, read it with every member validated.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json``, ``model.weights.h5`` and,
when layers ship files, ``assets/...``. This module moves those members (JSON as ``dict``, the
weights file as a path, assets as bytes) and knows nothing about models.

Writing: members are added, uncompressed like Keras 3 does, to a temporary file that replaces
the target only once complete (``storage.atomic_path``). The weights member is written in place:
h5py writes straight into the zip through a ``MemberWindow`` (no temporary ``.h5``, no copy);
its CRC-32 is computed afterwards and patched into the local header.

Reading refuses, with a ``FormatError`` that names the member: a file that is not a zip or is
truncated, members other than the expected names, absolute paths or ``..`` components,
duplicate names, compression methods other than stored/deflate, sizes beyond the caps or larger
than the archive can hold (zip-bomb guard), and bad CRCs. A stored weights member is read in
place through a read-only ``MemberWindow`` once its CRC-32 has been checked (in a helper thread
started when the archive opens, so it overlaps building the model); a deflated one is copied
into a private temporary directory (never beside the user's files) for h5py to read.

Example:
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); w = os.path.join(d, "w.h5"); _ = open(w, "wb").write(b"\\x89HDF")
    >>> write_archive(os.path.join(d, "m.keras"), {"keras_version": "3.15.1"}, {"a": 1}, w)
    >>> with KerasArchive(os.path.join(d, "m.keras")) as archive:
    ...     archive.config
    {'a': 1}
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import struct
import sys
import tempfile
import threading
import zipfile
import zlib
from types import TracebackType
from typing import Any, BinaryIO, Callable, Union

from savepoint.errors import FormatError
from savepoint.saving import storage

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
ASSETS = "assets/"
REQUIRED = (METADATA, CONFIG, WEIGHTS)

MAX_JSON_BYTES = 64 << 20           # metadata.json / config.json
MAX_ASSET_BYTES = 1 << 30           # one asset file
MAX_TOTAL_BYTES = 1 << 40           # everything, uncompressed (1 TiB)
MAX_MEMBERS = 100_000
MAX_DEFLATE_RATIO = 1100            # DEFLATE cannot expand beyond ~1032:1
_COPY_CHUNK = 8 << 20
_DATE = (1980, 1, 1, 0, 0, 0)       # what Keras 3 stamps on members it writes from memory
_MODE = (stat.S_IFREG | 0o600) << 16


# ----- write --------------------------------------------------------------------------------
def _info(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = _MODE
    info.file_size = size
    return info


def write_archive(path: str, metadata: dict, config: dict,
                  weights: Union[str, Callable[[BinaryIO], None]],
                  assets: dict[str, bytes] | None = None) -> None:
    """Write a ``.keras`` zip at ``path`` atomically: the two JSON documents, the weights and
    ``assets`` (``"layers/x/vocab.txt"`` -> bytes, stored under ``assets/``). ``weights`` is
    either the path of a finished weights file (streamed in) or a function that writes the
    weights file into the seekable file object it is given (the member itself, in place).

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); w = os.path.join(d, "w.h5"); _ = open(w, "wb").write(b"")
        >>> write_archive(os.path.join(d, "m.keras"), {}, {}, w)
        >>> sorted(zipfile.ZipFile(os.path.join(d, "m.keras")).namelist())
        ['config.json', 'metadata.json', 'model.weights.h5']
    """
    for name in assets or {}:
        _check_asset_name(name, path)
    with storage.atomic_path(path) as temp:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, document in ((METADATA, metadata), (CONFIG, config)):
                data = json.dumps(document).encode("utf-8")
                zf.writestr(_info(name, len(data)), data)
            if callable(weights):
                _write_in_place(zf, weights)
            else:
                size = storage.file_size(weights)
                with storage.open_read(weights) as src, \
                        zf.open(_info(WEIGHTS, size), "w",
                                force_zip64=size >= zipfile.ZIP64_LIMIT) as dst:
                    shutil.copyfileobj(src, dst, _COPY_CHUNK)
            for name, data in sorted((assets or {}).items()):
                zf.writestr(_info(ASSETS + name, len(data)), bytes(data))


def _write_in_place(zf: zipfile.ZipFile, write: Callable[[BinaryIO], None]) -> None:
    """Add the weights member by letting ``write`` fill it through a window on the zip's file,
    then patch its size and CRC-32 into the local header (zip64 form, whatever the size)."""
    info = _info(WEIGHTS, 0)
    info.CRC = 0
    fp = zf.fp
    fp.seek(zf.start_dir)
    info.header_offset = fp.tell()
    fp.write(info.FileHeader(zip64=True))
    fp.flush()
    start = fp.tell()
    window = MemberWindow(fp.fileno(), start)
    write(window)
    info.file_size = info.compress_size = window.end
    info.CRC = _crc32(fp.fileno(), start, window.end)
    fp.seek(info.header_offset)
    fp.write(info.FileHeader(zip64=True))
    fp.seek(start + window.end)
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = fp.tell()


def _fd_of(file: Any) -> "int | None":
    """The descriptor of a local file; None for an in-memory one (a remote archive)."""
    try:
        return file.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _crc32(fd: int, start: int, size: int) -> int:
    """CRC-32 of bytes ``[start, start+size)`` of ``fd`` (read in chunks; releases the GIL)."""
    buffer = bytearray(_COPY_CHUNK)
    crc, done = 0, 0
    while done < size:
        view = memoryview(buffer)[:min(_COPY_CHUNK, size - done)]
        got = os.preadv(fd, [view], start + done)
        if got <= 0:
            break
        crc = zlib.crc32(view[:got], crc)
        done += got
    return crc


class MemberWindow(io.RawIOBase):
    """Bytes ``[start, start+size)`` of an open file descriptor as a seekable binary file, for
    h5py to read a stored zip member in place (``size`` given) or to write one (``size=None``:
    the window grows from ``start`` as it is written; ``end`` is its length).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryFile() as f:
        ...     w = MemberWindow(f.fileno(), 3); _ = w.write(b"abc"); _ = w.seek(1)
        ...     w.read(), MemberWindow(f.fileno(), 4, 2).read()
        (b'bc', b'bc')
    """

    def __init__(self, fd: int, start: int, size: int | None = None):
        super().__init__()
        self._fd, self._start, self._pos = fd, start, 0
        self._writable = size is None
        self.end = 0 if size is None else size

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._writable

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = max(0, (0, self._pos, self.end)[whence] + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = max(0, min(len(view), self.end - self._pos))
        done = 0
        while done < want:
            got = os.preadv(self._fd, [view[done:want]], self._start + self._pos + done)
            if got <= 0:
                break
            done += got
        self._pos += done
        return done

    def write(self, data: Any) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("read-only member window")
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], self._start + self._pos + done)
        if done >= _COPY_CHUNK:  # start the disk write now: the final fsync has less to wait
            storage._start_writeback(self._fd, self._start + self._pos, done)
        self._pos += done
        self.end = max(self.end, self._pos)
        return done

    def truncate(self, size: int | None = None) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("read-only member window")
        size = self._pos if size is None else size
        os.ftruncate(self._fd, self._start + size)
        self.end = size
        return size

    def flush(self) -> None:
        pass


def _check_asset_name(name: str, path: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..")
                                                                for p in parts):
        raise FormatError(
            f"Cannot write asset {name!r} into {path!r}: expected a relative path of plain "
            f"names separated by '/' (no '..', no absolute path). Rename the asset.")


# ----- read ---------------------------------------------------------------------------------
class KerasArchive:
    """A ``.keras`` zip opened for reading; every member is validated when it is opened.

    Attributes: ``metadata`` and ``config`` (parsed JSON objects), ``asset_names`` (paths
    under ``assets/``). ``extract_weights()`` copies ``model.weights.h5`` into a private temporary
    directory removed on close; ``read_asset(name)`` returns an asset's bytes.

    Example:
        >>> KerasArchive("/nonexistent.keras")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self._size = storage.file_size(self.path)
        self._file = storage.open_read(self.path)
        self._temp: str | None = None
        self._crc_check: tuple[threading.Thread, dict, int] | None = None
        try:
            self._zip = zipfile.ZipFile(self._file, "r")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                NotImplementedError) as e:
            self._file.close()
            raise FormatError(
                f"Expected a Keras '.keras' zip archive at {self.path!r}, but it cannot be read "
                f"as a zip file ({e}). The file is truncated, damaged or in another format. "
                f"Fix: save the model again (or pass a '.h5' file with its extension).") from None
        try:
            self._infos = self._validate_members()
            self.metadata = self._read_json(METADATA)
            self.config = self._read_json(CONFIG)
        except BaseException:
            self.close()
            raise
        self.asset_names = sorted(n[len(ASSETS):] for n, i in self._infos.items()
                                  if n.startswith(ASSETS) and not i.is_dir())
        try:
            self._crc_check = self._start_weights_crc()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "KerasArchive":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive and delete the extracted weights."""
        if self._crc_check is not None:
            self._crc_check[0].join()  # it reads our file descriptor
            self._crc_check = None
        self._zip.close()
        self._file.close()
        if self._temp is not None:
            storage.remove_tree(self._temp)
            self._temp = None

    # --- validation -------------------------------------------------------------------------
    def _error(self, problem: str) -> FormatError:
        return FormatError(f"Keras archive {self.path!r} is not a valid '.keras' file: "
                           f"{problem}. Fix: save the model again with model.save(...'.keras').")

    def _validate_members(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self._error(f"it has {len(infos)} members, more than the {MAX_MEMBERS} "
                              f"allowed")
        found: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            self._check_name(info)
            if info.filename in found:
                raise self._error(f"member {info.filename!r} appears twice")
            self._check_size(info)
            total += info.file_size
            found[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise self._error(f"its members add up to {total} bytes uncompressed, more than the "
                              f"{MAX_TOTAL_BYTES} allowed")
        missing = [n for n in REQUIRED if n not in found]
        if missing:
            raise self._error(f"expected members {list(REQUIRED)}, but {missing} "
                              f"{'is' if len(missing) == 1 else 'are'} missing")
        return found

    def _check_name(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if name in REQUIRED:
            return
        if name == "model.weights.npz":
            raise self._error("its weights are in 'model.weights.npz' (a Keras 3 file saved "
                              "with weights_format='npz'), which savepoint does not read; "
                              "expected 'model.weights.h5'")
        parts = name.rstrip("/").split("/")
        escapes = (name.startswith(("/", "\\")) or "\\" in name or ":" in parts[0]
                   or any(p in ("", ".", "..") for p in parts) or "\x00" in name)
        if escapes:
            raise self._error(f"member {name!r} points outside the archive's root (absolute "
                              f"path, drive or '..')")
        if not (name + "/").startswith(ASSETS) or (name.rstrip("/") + "/" == ASSETS
                                                   and not info.is_dir()):
            raise self._error(f"unexpected member {name!r}; expected only {list(REQUIRED)} "
                              f"and files under '{ASSETS}'")

    def _check_size(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self._error(f"member {name!r} uses compression method {info.compress_type}; "
                              f"expected stored (0) or deflate (8)")
        if info.header_offset + info.compress_size > self._size:
            raise self._error(f"member {name!r} claims {info.compress_size} stored bytes at "
                              f"offset {info.header_offset}, beyond the end of the "
                              f"{self._size}-byte file (truncated?)")
        limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
            MAX_DEFLATE_RATIO * info.compress_size + 1024
        if info.file_size > limit:
            raise self._error(f"member {name!r} declares {info.file_size} bytes uncompressed "
                              f"from {info.compress_size} stored bytes (a zip bomb?)")
        cap = MAX_JSON_BYTES if name in (METADATA, CONFIG) else \
            MAX_ASSET_BYTES if name.startswith(ASSETS) else MAX_TOTAL_BYTES
        if info.file_size > cap:
            raise self._error(f"member {name!r} declares {info.file_size} bytes, more than the "
                              f"{cap} allowed")

    # --- members ----------------------------------------------------------------------------
    def _copy(self, name: str, write: Callable[[bytes], Any]) -> None:
        """Stream member ``name`` to ``write``, checking its length and CRC-32."""
        info = self._infos[name]
        copied = 0
        try:
            with self._zip.open(info, "r") as src:
                while True:
                    chunk = src.read(min(_COPY_CHUNK, info.file_size - copied + 1))
                    if not chunk:
                        break
                    copied += len(chunk)
                    if copied > info.file_size:
                        raise self._error(f"member {name!r} holds more than the "
                                          f"{info.file_size} bytes it declares")
                    write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
            if isinstance(e, FormatError):
                raise
            raise self._error(f"member {name!r} is damaged ({e})") from None
        if copied != info.file_size:
            raise self._error(f"member {name!r} holds {copied} bytes, but declares "
                              f"{info.file_size}")

    def read_member(self, name: str) -> bytes:
        """The bytes of member ``name`` (validated, CRC checked)."""
        parts: list[bytes] = []
        self._copy(name, parts.append)
        return b"".join(parts)

    def _read_json(self, name: str) -> dict:
        try:
            value = json.loads(self.read_member(name).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise self._error(f"{name} is not valid UTF-8 JSON ({e})") from None
        except RecursionError:  # nesting deeper than the interpreter's stack, within the cap
            raise self._error(f"{name} nests JSON arrays or objects deeper than Python's "
                              f"recursion limit ({sys.getrecursionlimit()})") from None
        if not isinstance(value, dict):
            raise self._error(f"{name} must hold a JSON object; it holds "
                              f"{type(value).__name__}")
        return value

    def read_asset(self, name: str) -> bytes:
        """The bytes of ``assets/<name>``."""
        if name not in self.asset_names:
            raise self._error(f"it has no asset {name!r}")
        return self.read_member(ASSETS + name)

    def _start_weights_crc(self) -> tuple[threading.Thread, dict, int] | None:
        """For a stored weights member: locate its bytes and start checking their CRC-32 in a
        helper thread (``open_weights`` waits for it)."""
        info = self._infos[WEIGHTS]
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        fd = _fd_of(self._file)  # None: a remote archive, fetched into memory
        header = storage.read_range(self._file, info.header_offset, 30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise self._error(f"member {WEIGHTS!r} has no local file header at offset "
                              f"{info.header_offset}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if storage.read_range(self._file, info.header_offset + 30, name_len) != WEIGHTS.encode():
            raise self._error(f"member {WEIGHTS!r}'s local header names another file")
        start = info.header_offset + 30 + name_len + extra_len
        if start + info.file_size > self._size:
            raise self._error(f"member {WEIGHTS!r} ends beyond the end of the {self._size}-byte "
                              f"file (truncated?)")
        result: dict[str, Any] = {}

        def check() -> None:
            try:
                if fd is None:
                    with self._file.getbuffer() as whole:  # type: ignore[attr-defined]
                        result["crc"] = zlib.crc32(whole[start:start + info.file_size])
                else:
                    result["crc"] = _crc32(fd, start, info.file_size)
            except OSError as e:
                result["error"] = e
        thread = threading.Thread(target=check, name="savepoint-keras-crc", daemon=True)
        thread.start()
        return thread, result, start

    def open_weights(self) -> Union[str, MemberWindow]:
        """``model.weights.h5`` for h5py: a read-only window on the archive for a stored member
        (after its CRC-32 check), else the path of an extracted copy (``extract_weights``)."""
        if self._crc_check is None:
            return self.extract_weights()
        thread, result, start = self._crc_check
        thread.join()
        info = self._infos[WEIGHTS]
        if "error" in result:
            raise self._error(f"member {WEIGHTS!r} is damaged ({result['error']})")
        if result["crc"] != info.CRC:
            raise self._error(f"member {WEIGHTS!r} is damaged (Bad CRC-32: "
                              f"{result['crc']:#010x}, expected {info.CRC:#010x})")
        fd = _fd_of(self._file)
        if fd is None:
            with self._file.getbuffer() as whole:  # type: ignore[attr-defined]
                return io.BytesIO(whole[start:start + info.file_size])  # type: ignore[return-value]
        return MemberWindow(fd, start, info.file_size)

    def extract_weights(self) -> str:
        """Copy ``model.weights.h5`` into a private temporary directory; its path there."""
        if self._temp is None:
            self._temp = tempfile.mkdtemp(prefix="savepoint-keras-")
        target = os.path.join(self._temp, WEIGHTS)
        if not storage.exists(target):
            with storage.atomic_writer(target) as out:
                self._copy(WEIGHTS, out.write)
        return target


__all__ = ["ASSETS", "CONFIG", "KerasArchive", "METADATA", "MemberWindow", "WEIGHTS",
           "write_archive"]
