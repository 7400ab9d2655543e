"""Checksums of savepoint's HDF5 files: a trailer after the HDF5 bytes, checked before h5py reads.

h5py/HDF5 keep no checksums of data or attributes, and libhdf5 can loop forever or misbehave on
damaged metadata, so the check must happen *before* libhdf5 sees the file. savepoint therefore
appends a trailer after the last HDF5 byte (HDF5, tf.keras and Keras 3 ignore bytes past the end
of the HDF5 address space)::

    <JSON> <u64 LE: JSON length> <u32 LE: crc32c of JSON> <16-byte MAGIC>

The JSON holds ``h5_size`` (bytes of HDF5 data before the trailer), ``metadata_crc32c`` (crc32c
of every HDF5 byte outside the datasets' raw data: superblock, object headers, attributes,
B-trees, heaps) and ``datasets``: ``{"/path/of/dataset": [offset, nbytes, crc32c]}``. Opening a
file checks the trailer and the metadata (small); each dataset is checked when it is read
(``check_dataset``) and ``verify_all`` checks every one. Files without the trailer (written by
tf.keras or Keras 3) are read with structural validation only.

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.h5 import H5Reader, H5Writer
    >>> p = os.path.join(tempfile.mkdtemp(), "w.h5")
    >>> with H5Writer(p) as w:
    ...     w.write_array("g", "x", np.arange(4, dtype=np.float32))
    >>> t = read_trailer(FileBytes(p), p)
    >>> sorted(t.datasets), t.verify_all(FileBytes(p), p)
    (['/g/x'], 16)
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import crc

MAGIC = b"SAVEPOINT-H5SUM1"
_TAIL = struct.Struct("<QI16s")     # JSON length, crc32c of JSON, MAGIC
MAX_TRAILER = 256 << 20             # bytes of JSON we accept at most
_CHUNK = 8 << 20


class FileBytes:
    """Random access to the bytes of a file at ``path`` or of a seekable binary ``fileobj``.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); storage.write_bytes_atomically(p, b"abc")
        >>> bytes(FileBytes(p).read(1, 5)), FileBytes(p).size
        (b'bc', 3)
    """

    def __init__(self, path: str, fileobj: Any = None):
        self._fileobj = fileobj
        if fileobj is None:
            self._view = storage.map_file(path)
            self.size = len(self._view)
        else:
            self.size = fileobj.seek(0, 2)

    def read(self, offset: int, n: int) -> Any:
        """Up to ``n`` bytes from ``offset`` (a zero-copy view for a mapped file)."""
        offset, end = max(0, offset), min(self.size, offset + max(0, n))
        if end <= offset:
            return b""
        if self._fileobj is None:
            return self._view[offset:end]
        self._fileobj.seek(offset)
        return self._fileobj.read(end - offset)

    def crc(self, offset: int, n: int, value: int = 0) -> int:
        """crc32c of bytes ``[offset, offset + n)`` (extending ``value``), read in chunks."""
        for start in range(offset, offset + n, _CHUNK):
            value = crc.extend(value, self.read(start, min(_CHUNK, offset + n - start)))
        return value


@dataclass
class Trailer:
    """The checksums of one HDF5 file (see the module docstring)."""

    h5_size: int
    metadata_crc32c: int = 0
    datasets: dict[str, list[int]] = field(default_factory=dict)

    def regions(self) -> list[tuple[int, int]]:
        """Sorted ``(offset, nbytes)`` of the datasets' raw data."""
        return sorted((o, n) for o, n, _ in self.datasets.values() if n)

    def metadata_crc(self, data: FileBytes) -> int:
        """crc32c of every byte of ``[0, h5_size)`` outside the dataset regions."""
        value, pos = 0, 0
        for offset, nbytes in self.regions():
            value = data.crc(pos, offset - pos, value)
            pos = offset + nbytes
        return data.crc(pos, self.h5_size - pos, value)

    def encode(self) -> bytes:
        """The trailer bytes to append after the HDF5 data."""
        body = json.dumps({"h5_size": self.h5_size, "metadata_crc32c": self.metadata_crc32c,
                           "datasets": self.datasets}, separators=(",", ":")).encode()
        return body + _TAIL.pack(len(body), crc.value(body), MAGIC)

    def check_dataset(self, name: str, data: FileBytes, path: str,
                      array: np.ndarray | None = None) -> int:
        """Check one dataset's bytes (``array`` if it holds exactly the file's bytes, else the
        file); ``FormatError`` naming the file and the dataset on mismatch. Returns bytes checked."""
        entry = self.datasets.get(name)
        if entry is None:
            return 0
        offset, nbytes, want = entry
        if array is not None and array.nbytes == nbytes and array.flags.c_contiguous:
            got = crc.value(array.reshape(-1).view(np.uint8)) if nbytes else 0
        else:
            got = data.crc(offset, nbytes)
        if got != want:
            raise FormatError(
                f"HDF5 file {path!r} is damaged: dataset {name!r} does not match its crc32c "
                f"(recorded {want:#010x}, computed {got:#010x}). Fix: restore the file from a "
                f"good copy or re-save it.")
        return nbytes

    def verify_all(self, data: FileBytes, path: str) -> int:
        """Check every dataset; return the number of bytes checked."""
        return sum(self.check_dataset(name, data, path) for name in sorted(self.datasets))


def _bad(path: str, what: str) -> FormatError:
    return FormatError(f"HDF5 file {path!r} is damaged: {what}. Fix: restore the file from a "
                       f"good copy or re-save it.")


def read_trailer(data: FileBytes, path: str) -> Trailer | None:
    """The verified trailer of a savepoint HDF5 file (metadata checked too); ``None`` when the
    file has none (a tf.keras/Keras 3 file). Raises ``FormatError`` naming the file."""
    if data.size < _TAIL.size or bytes(data.read(data.size - 16, 16)) != MAGIC:
        return None
    length, want, _ = _TAIL.unpack(bytes(data.read(data.size - _TAIL.size, _TAIL.size)))
    if length > min(MAX_TRAILER, data.size - _TAIL.size):
        raise _bad(path, f"its checksum trailer claims {length} bytes, more than the file holds")
    start = data.size - _TAIL.size - length
    body = bytes(data.read(start, length))
    if crc.value(body) != want:
        raise _bad(path, "its checksum trailer does not match its crc32c")
    trailer = _parse(body, start, path)
    if trailer.metadata_crc(data) != trailer.metadata_crc32c:
        raise _bad(path, "its HDF5 structure (superblock, object headers, attributes) does not "
                         "match the crc32c recorded when it was saved")
    return trailer


def _parse(body: bytes, h5_size: int, path: str) -> Trailer:
    try:
        doc = json.loads(body)
        datasets = doc["datasets"]
        ok = doc["h5_size"] == h5_size and isinstance(doc["metadata_crc32c"], int) and \
            isinstance(datasets, dict) and all(
                isinstance(v, list) and len(v) == 3 and all(type(x) is int and x >= 0 for x in v)
                for v in datasets.values())
    except (ValueError, KeyError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise _bad(path, "its checksum trailer is not the JSON savepoint writes")
    end = 0
    for offset, nbytes in sorted((o, n) for o, n, _ in datasets.values() if n):
        if offset < end or offset + nbytes > h5_size:
            raise _bad(path, "its checksum trailer lists overlapping or out-of-file datasets")
        end = offset + nbytes
    return Trailer(h5_size, doc["metadata_crc32c"], datasets)


def array_crc(array: np.ndarray) -> tuple[int, int]:
    """``(crc32c, nbytes)`` of a C-contiguous array's bytes.

    Example:
        >>> array_crc(np.zeros(2, np.uint8))[1]
        2
    """
    return (crc.value(array.reshape(-1).view(np.uint8)) if array.nbytes else 0), array.nbytes


def build_trailer(file: Any, sums: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
    """``{dataset: [offset, nbytes, crc]}`` for every dataset of the open h5py ``file``
    (``sums``: ``(crc32c, nbytes)`` computed from memory; -1 marks "compute from the file")."""
    out: dict[str, list[int]] = {}

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "dtype") and hasattr(obj, "id"):
            offset = obj.id.get_offset()
            nbytes = obj.id.get_storage_size() if offset is not None else 0
            value, size = sums.get("/" + name, (-1, -1))
            out["/" + name] = [offset or 0, nbytes, value if size == nbytes else -1]

    file.visititems(visit)
    return out


def finish(data_path: str, fileobj: Any, regions: dict[str, list[int]]) -> bytes:
    """The trailer for a just-closed HDF5 file (reads its metadata bytes back; datasets without
    a crc from memory are read back too)."""
    data = FileBytes(data_path, fileobj)
    trailer = Trailer(data.size, 0, regions)
    for entry in regions.values():
        if entry[2] < 0:
            entry[2] = data.crc(entry[0], entry[1])
    trailer.metadata_crc32c = trailer.metadata_crc(data)
    return trailer.encode()
