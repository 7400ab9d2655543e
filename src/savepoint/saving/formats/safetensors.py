"""The safetensors byte format: named arrays <-> one file the ``safetensors`` library reads.

Layout (huggingface's safetensors): an 8-byte little-endian header length ``N``, ``N`` bytes of
JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the tensors' bytes back to back in header order. savepoint adds a CRC-32C of every tensor
to ``__metadata__`` (key ``savepoint.crc32c``), checked on every read; files without it (written
by the ``safetensors`` library) are read without the check.

The header is validated entirely before any tensor is touched: its size against the file, every
dtype, shape and offset (contiguous, inside the file, ``prod(shape) * itemsize`` bytes).

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> write(path, {"a": np.arange(3, dtype=np.float32)}, {"format": "pt"})
    >>> arrays, metadata = read(path)
    >>> arrays["a"].tolist(), metadata["format"]
    ([0.0, 1.0, 2.0], 'pt')
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import crc
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array

CRC_KEY = "savepoint.crc32c"
MAX_HEADER = 100 * 1024 * 1024  # the safetensors library's own limit
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "U16": np.uint16,
           "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_, "BF16": None}
_NAMES = {np.dtype(t).str: name for name, t in _DTYPES.items() if t is not None}


def _dtype_name(array: Any) -> str:
    if isinstance(array, BFloat16Array):
        return "BF16"
    name = _NAMES.get(np.dtype(array.dtype).newbyteorder("<").str)
    if name is None:
        raise FormatError(f"Expected arrays of a safetensors dtype ({sorted(_DTYPES)}). "
                          f"Received dtype {array.dtype}. Fix: cast it before saving.")
    return name


def _raw(array: Any) -> np.ndarray:
    raw = array.bits if isinstance(array, BFloat16Array) else np.asarray(array)
    # np.ascontiguousarray would make a scalar 1-D
    raw = raw if raw.flags.c_contiguous else raw.copy(order="C")
    return raw.astype(raw.dtype.newbyteorder("<"), copy=False)


def write(path: str, arrays: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` (numpy, or ``BFloat16Array``) at ``path``, atomically.

    Example:
        >>> import numpy as np, tempfile, os
        >>> write(os.path.join(tempfile.mkdtemp(), "w.safetensors"), {"b": np.ones(2, bool)})
    """
    raws = {name: _raw(a) for name, a in arrays.items()}
    header: dict[str, Any] = {}
    offset = 0
    for name, array in arrays.items():
        size = raws[name].nbytes
        header[name] = {"dtype": _dtype_name(array), "shape": list(np.shape(raws[name])),
                        "data_offsets": [offset, offset + size]}
        offset += size
    meta = dict(metadata or {})
    meta[CRC_KEY] = json.dumps({name: crc.value(memoryview(r).cast("B")) if r.nbytes else 0
                                for name, r in raws.items()}, separators=(",", ":"))
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the library aligns the data to 8 bytes
    with storage.atomic_writer(path) as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for raw in raws.values():
            if raw.nbytes:
                out.write(memoryview(raw).cast("B"))


def read(path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Every array of the file at ``path`` (BF16 as ``BFloat16Array``) and its metadata; a
    damaged or hostile file raises ``FormatError`` naming what is wrong.

    Example:
        >>> read("/nonexistent.safetensors")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    data = storage.map_file(path)
    header, start = _header(path, data)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError(f"Safetensors file {path!r}: expected '__metadata__' to map strings "
                          f"to strings. Received {metadata!r:.200}.")
    entries = _entries(path, header, len(data) - start)
    crcs = _crcs(path, metadata)
    arrays = {}
    for name, (dtype, shape, begin, end) in entries.items():
        chunk = data[start + begin:start + end]
        if name in crcs and (crc.value(chunk) if end > begin else 0) != crcs[name]:
            raise FormatError(f"Safetensors file {path!r}: tensor {name!r} fails its CRC-32C "
                              f"check (the file is damaged). Fix: restore it from a copy or "
                              f"save again.")
        raw = np.frombuffer(chunk, dtype=np.uint16 if dtype == "BF16" else _DTYPES[dtype])
        raw = raw.reshape(shape)
        arrays[name] = BFloat16Array(raw) if dtype == "BF16" else raw
    return arrays, metadata


def _header(path: str, data: memoryview) -> tuple[dict, int]:
    if len(data) < 8:
        raise FormatError(f"Safetensors file {path!r}: expected at least 8 bytes (the header "
                          f"length). Received {len(data)} bytes. The file is truncated.")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(MAX_HEADER, len(data) - 8):
        raise FormatError(f"Safetensors file {path!r}: the header declares {length} bytes; "
                          f"expected at most {min(MAX_HEADER, len(data) - 8)} (the file's size "
                          f"and the format's limit). The file is damaged or not safetensors.")
    try:
        header = json.loads(bytes(data[8:8 + length]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(f"Safetensors file {path!r}: the header is not JSON ({e}).") from None
    if not isinstance(header, dict):
        raise FormatError(f"Safetensors file {path!r}: expected a JSON object header. "
                          f"Received {type(header).__name__}.")
    return header, 8 + length


def _entries(path: str, header: dict, data_size: int) -> dict[str, tuple]:
    entries, expected = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: _begin(kv[1])):
        where = f"Safetensors file {path!r}: tensor {name!r}"
        if not isinstance(info, dict) or info.get("dtype") not in _DTYPES:
            raise FormatError(f"{where}: expected a dtype in {sorted(_DTYPES)}. Received "
                              f"{info.get('dtype') if isinstance(info, dict) else info!r:.80}.")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list) and all(type(d) is int and 0 <= d < 2**40 for d in shape)
                and len(shape) <= 64):
            raise FormatError(f"{where}: expected a shape of non-negative ints. Received "
                              f"{shape!r:.80}.")
        itemsize = 2 if info["dtype"] == "BF16" else np.dtype(_DTYPES[info["dtype"]]).itemsize
        size = int(np.prod(shape, dtype=object)) * itemsize
        if offsets != [expected, expected + size] or expected + size > data_size:
            raise FormatError(f"{where}: expected data_offsets [{expected}, {expected + size}] "
                              f"inside the {data_size} data bytes. Received {offsets!r:.80}. The "
                              f"file is damaged.")
        entries[name] = (info["dtype"], tuple(shape), expected, expected + size)
        expected += size
    if expected != data_size:
        raise FormatError(f"Safetensors file {path!r}: the tensors cover {expected} bytes, but "
                          f"the data section holds {data_size}. The file is damaged.")
    return entries


def _begin(info: Any) -> int:
    offsets = info.get("data_offsets") if isinstance(info, dict) else None
    return offsets[0] if isinstance(offsets, list) and offsets and type(offsets[0]) is int else -1


def _crcs(path: str, metadata: dict[str, str]) -> dict[str, int]:
    if CRC_KEY not in metadata:
        return {}
    try:
        crcs = json.loads(metadata[CRC_KEY])
    except ValueError:
        crcs = None
    if not isinstance(crcs, dict) or not all(type(v) is int for v in crcs.values()):
        raise FormatError(f"Safetensors file {path!r}: expected '{CRC_KEY}' to be a JSON object "
                          f"of integer checksums. The file is damaged.")
    return crcs


__all__ = ["CRC_KEY", "read", "write"]
