"""Writing TensorFlow tensor bundles (``<prefix>.index`` + ``<prefix>.data-00000-of-00001``).

The data file is the tensors' raw little-endian bytes (DT_STRING: see ``layout``) concatenated in
the order given, unpadded, as TensorFlow writes them. The index is a sorted table (``table``)
whose key ``""`` holds ``BundleHeaderProto{num_shards: 1, version{producer: 1}}`` and whose other
keys map tensor names to ``BundleEntryProto{dtype, shape, shard_id, offset, size, crc32c}``,
``crc32c`` being the masked CRC32C of the tensor's bytes in the data file.

Tensors stream straight from array memory to the file (no whole-file buffer, no copy); checksums
are computed on the same memory, for big tensors by a helper thread while the main thread writes
them (crc32c and ``write`` both release the GIL). Both files are written under temporary names, fsynced, then
renamed data first and index last, so a failure part-way leaves a previous bundle intact.
Reading lives in ``reader`` (:class:`BundleReader`, re-exported here).

Example:
    >>> import numpy as np, tempfile, os
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> write_bundle(prefix, {"w": np.ones((2, 2), np.float32), "note": "hi"})
    >>> with BundleReader(prefix) as r:
    ...     r.get_tensor("w").sum(), r.get_tensor("note")
    (np.float32(4.0), b'hi')
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

from savepoint.errors import DTypeError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import crc, layout, parallel, proto, table
from savepoint.saving.formats.tf_checkpoint.dtypes import (DT_BFLOAT16, DT_STRING,
                                                           BFloat16Array, tf_enum_for)
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

TensorLike = Union[np.ndarray, np.generic, BFloat16Array, bytes, str, bool, int, float]

TENSOR_BUNDLE_VERSION = 1  # TensorFlow's kTensorBundleVersion
_OVERLAP_CRC_BYTES = 4 << 20  # tensors this big get their checksum computed while being written

__all__ = ["BundleReader", "TensorLike", "write_bundle", "bundle_exists"]


@dataclass
class _Prepared:
    """A tensor ready to write: its DataType, shape and either raw bytes or string elements."""

    key: bytes
    dtype: int
    shape: tuple[int, ...]
    raw: Union[np.ndarray, None] = None  # uint8 view of little-endian, C-contiguous bytes
    strings: Union[list[bytes], None] = None


def _as_bytes(element: object, name: str) -> bytes:
    if isinstance(element, bytes):
        return element
    if isinstance(element, str):
        return element.encode("utf-8")
    if isinstance(element, (bytearray, memoryview)):
        return bytes(element)
    raise DTypeError(f'Expected bytes or str elements in string tensor "{name}". Received '
                     f"{type(element).__name__}. Fix: convert elements to bytes.")


@functools.lru_cache(maxsize=64)
def _numeric_dtype(dtype: np.dtype) -> tuple[int, bool]:
    """(TensorFlow DataType, whether the bytes must be swapped to little-endian) for ``dtype``
    (cached: numpy's dtype introspection costs microseconds per call, per tensor)."""
    return tf_enum_for(dtype), dtype.name != "bfloat16" and dtype.byteorder == ">"


def _prepare_array(key: bytes, name: str, array: np.ndarray) -> _Prepared:
    if array.dtype.kind in "SUO":
        elements = [_as_bytes(e, name) for e in array.reshape(-1).tolist()]
        return _Prepared(key, DT_STRING, tuple(array.shape), strings=elements)
    try:
        dtype, swap = _numeric_dtype(array.dtype)
    except DTypeError as e:
        raise DTypeError(f'Tensor "{name}": {e}') from None
    if swap:
        array = array.astype(array.dtype.newbyteorder("<"))
    shape = tuple(array.shape)  # before ascontiguousarray, which turns 0-d into 1-d
    raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return _Prepared(key, dtype, shape, raw=raw)


def _prepare(name: str, value: TensorLike) -> _Prepared:
    if not isinstance(name, str) or not name:
        raise ValueError(f"Expected a non-empty str tensor name. Received {name!r}. The empty key "
                         "is reserved for the bundle header.")
    key = name.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return _Prepared(key, DT_STRING, (), strings=[_as_bytes(value, name)])
    if isinstance(value, BFloat16Array):
        bits = np.ascontiguousarray(value.bits.astype("<u2", copy=False)).reshape(-1)
        return _Prepared(key, DT_BFLOAT16, value.shape, raw=bits.view(np.uint8))
    if isinstance(value, (np.ndarray, np.generic)):
        return _prepare_array(key, name, np.asarray(value))
    if isinstance(value, (bool, int, float)):
        raise DTypeError(f'Expected a numpy array for tensor "{name}". Received a Python '
                         f"{type(value).__name__}, whose TensorFlow dtype is ambiguous. Fix: "
                         f"wrap it, e.g. np.int64({value!r}) or np.float32({value!r}).")
    raise DTypeError(f'Expected a numpy array, BFloat16Array, bytes or str for tensor "{name}". '
                     f"Received {type(value).__name__}. Fix: convert it with np.asarray(...) "
                     "(torch tensors: t.detach().cpu().numpy()).")


def _write_tensor(out: storage.AtomicWriter, t: _Prepared) -> proto.BundleEntry:
    offset = out.tell()
    if t.strings is not None:
        payload, checksum = layout.encode_strings(t.strings)
        out.write(payload)
    elif t.raw is not None and t.raw.nbytes >= _OVERLAP_CRC_BYTES:
        pending = parallel.start(lambda: crc.value(t.raw))
        try:
            out.write(t.raw)  # straight from the array's memory, while the helper checksums it
        finally:
            checksum = pending.result()
    else:
        assert t.raw is not None
        checksum = crc.value(t.raw)
        out.write(t.raw)
    return proto.BundleEntry(dtype=t.dtype, shape=t.shape, shard_id=0, offset=offset,
                             size=out.tell() - offset, crc32c=crc.mask(checksum))


def _index_bytes(entries: list[tuple[bytes, proto.BundleEntry]]) -> bytes:
    header = proto.BundleHeader(num_shards=1, endianness=0,
                                version=proto.VersionDef(producer=TENSOR_BUNDLE_VERSION))
    rows = [(b"", proto.encode_header(header))]
    rows += [(key, proto.encode_entry(entry)) for key, entry in sorted(entries)]
    return table.encode_table(rows)


def write_bundle(prefix: str, tensors: Mapping[str, TensorLike]) -> None:
    """Write ``tensors`` (name -> array/bytes/str) as a TensorFlow checkpoint at ``prefix``.

    Numeric arrays of any dtype TensorFlow stores (float16/32/64, int8..64, uint8..64, bool,
    complex64/128, and bfloat16 as :class:`BFloat16Array` or an ``ml_dtypes`` array) keep their
    shape; ``bytes``/``str`` become DT_STRING scalars and numpy string/object arrays DT_STRING
    tensors. Data is written in mapping order; ``.index`` is written last. Everything is
    validated before any file is created.

    Example:
        >>> import numpy as np, tempfile, os
        >>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt-1")
        >>> write_bundle(prefix, {"step": np.int64(3)})
        >>> sorted(os.listdir(os.path.dirname(prefix)))
        ['ckpt-1.data-00000-of-00001', 'ckpt-1.index']
    """
    prefix = os.fspath(prefix)
    prepared = [_prepare(name, value) for name, value in tensors.items()]
    storage.makedirs(os.path.dirname(prefix))
    storage.remove_stale_temp_files(os.path.dirname(prefix) or ".")  # left by killed writers
    _write_files(prefix, prepared)


def _write_files(prefix: str, prepared: list[_Prepared]) -> None:
    data_out = storage.atomic_writer(layout.data_path(prefix, 0, 1))
    index_out: Union[storage.AtomicWriter, None] = None
    try:
        entries = [(t.key, _write_tensor(data_out, t)) for t in prepared]
        index = _index_bytes(entries)
        index_out = storage.atomic_writer(layout.index_path(prefix))
        index_out.write(index)
        # Flush and fsync both files before renaming either: a failure (disk full, I/O error)
        # then leaves a previous bundle at this prefix whole instead of new data + old index.
        # Both fsyncs at once (the index's joins the data's journal commit), then one
        # directory fsync for both renames; the caller updates any state file only after it.
        pending = parallel.start(index_out.sync)
        try:
            data_out.sync()
        finally:
            pending.result()
        data_out.commit(sync_dir=False)
        index_out.commit()
    except BaseException:
        data_out.abort()
        if index_out is not None:
            index_out.abort()
        raise


def bundle_exists(prefix: str) -> bool:
    """Whether a bundle's ``.index`` file exists at ``prefix`` (what TensorFlow checks).

    Example:
        >>> bundle_exists("/nonexistent/cp.ckpt")
        False
    """
    return storage.exists(layout.index_path(os.fspath(prefix)))
