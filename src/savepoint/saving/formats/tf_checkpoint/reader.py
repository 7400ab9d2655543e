"""Reading TensorFlow tensor bundles: validate the whole index up front, then verified tensor reads.

:class:`BundleReader` opens ``<prefix>.index``, checks the table (see ``table``), the header
(shard count, endianness, format version) and every entry (known dtype, valid shape, shard id,
``offset + size`` inside that shard's data file, ``size`` consistent with shape and dtype)
before it returns. Data files are memory-mapped; each tensor read verifies its CRC32C before
copying, so a damaged file raises ``FormatError`` naming the tensor and file, never returns
wrong values. :meth:`BundleReader.read_many_into` verifies every checksum first, then copies each
tensor once from the map into its target; both passes use a few threads for big bundles (a big
tensor is checksummed in pieces whose CRCs are combined). Bundles of several shards
(``.data-00000-of-00002`` ...) are read too.

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> write_bundle(prefix, {"b": np.arange(3, dtype=np.int32)})
    >>> with BundleReader(prefix) as r:
    ...     r.get_variable_to_shape_map(), r.get_variable_to_dtype_map(), r.get_tensor("b")
    ({'b': [3]}, {'b': 'int32'}, array([0, 1, 2], dtype=int32))
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Callable, Iterable, Iterator, Mapping, Union

import numpy as np

from savepoint.errors import CheckpointNotFoundError, FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import crc, dtypes, layout, parallel, proto, table
from savepoint.saving.formats.tf_checkpoint.dtypes import DT_BFLOAT16, DT_STRING, BFloat16Array

Tensor = Union[np.ndarray, BFloat16Array, bytes]
Target = Union[np.ndarray, BFloat16Array]
_MAX_CONSUMER = 1  # TensorFlow's kTensorBundleVersion: the newest format this reader knows
_CHUNK_BYTES = 8 << 20  # copies are split into pieces of this size, for the helper threads


def _copy_tasks(src: memoryview, dst: np.ndarray) -> list[tuple[int, Callable[[], None]]]:
    source = np.frombuffer(src, dtype=np.uint8)
    return [(min(_CHUNK_BYTES, len(source) - i),
             lambda i=i: np.copyto(dst[i:i + _CHUNK_BYTES], source[i:i + _CHUNK_BYTES]))
            for i in range(0, len(source), _CHUNK_BYTES)]


class BundleReader:
    """Reads a TensorFlow checkpoint written by TensorFlow or by savepoint.

    Example:
        >>> BundleReader("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = os.fspath(prefix)
        self.index_file = layout.index_path(self.prefix)
        if not storage.exists(self.index_file):
            raise CheckpointNotFoundError(
                f"Expected a TensorFlow checkpoint at prefix {self.prefix!r} (file "
                f"{self.index_file!r}). Received a path with no .index file. Fix: pass the "
                "prefix (e.g. 'training_1/cp.ckpt'), or use latest_checkpoint(dir).")
        rows = table.read_table(storage.read_bytes(self.index_file), self.index_file)
        self.header = self._parse_header(rows)
        self._entries: dict[str, proto.BundleEntry] = {}
        for key, value in rows[1:]:
            name = self._decode_key(key)
            self._entries[name] = proto.decode_entry(value, self._where(name))
        self._maps: dict[int, memoryview] = {}
        self._shard_sizes = self._data_file_sizes()
        for name, entry in self._entries.items():
            self._validate_entry(name, entry)

    # ------------------------------------------------------------------ validation at open
    def _where(self, name: str) -> str:
        return f'tensor "{name}" of checkpoint {self.index_file!r}'

    def _fail(self, detail: str) -> FormatError:
        return FormatError(f"Unable to read checkpoint {self.index_file!r}: {detail}. Fix: "
                           "re-save the checkpoint or restore its files from a backup.")

    def _decode_key(self, key: bytes) -> str:
        try:
            return key.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail(f"tensor name {key!r} is not UTF-8") from None

    def _parse_header(self, rows: list[tuple[bytes, bytes]]) -> proto.BundleHeader:
        if not rows or rows[0][0] != b"":
            raise self._fail("expected the header entry (key '') first; received "
                             f"{rows[0][0] if rows else 'no entries'!r}")
        header = proto.decode_header(rows[0][1], self.index_file)
        if header.num_shards < 1:
            raise self._fail(f"expected num_shards >= 1 in the header, received "
                             f"{header.num_shards}")
        if header.endianness != 0:
            raise self._fail(f"expected a little-endian bundle (endianness 0), received "
                             f"endianness {header.endianness}; savepoint reads little-endian "
                             "bundles only")
        version = header.version or proto.VersionDef()
        if version.min_consumer > _MAX_CONSUMER or _MAX_CONSUMER in version.bad_consumers:
            raise self._fail(f"the bundle needs a reader of format version >= "
                             f"{version.min_consumer} (bad: {version.bad_consumers}); this "
                             f"reader is version {_MAX_CONSUMER}")
        return header

    def _data_file_sizes(self) -> dict[int, int]:
        used = sorted({e.shard_id for e in self._entries.values() if not e.slices})
        sizes = {}
        for shard in used:
            if not 0 <= shard < self.header.num_shards:
                continue  # reported per entry by _validate_entry
            path = layout.data_path(self.prefix, shard, self.header.num_shards)
            if not storage.exists(path):
                raise self._fail(f"its data file {path!r} is missing")
            # mapped now, right after the index was read: a save that links new files over
            # this prefix later cannot change what this reader sees (rewrite.py)
            self._maps[shard] = storage.map_file(path)
            sizes[shard] = len(self._maps[shard])
        return sizes

    def _validate_entry(self, name: str, e: proto.BundleEntry) -> None:
        where = self._where(name)
        if not dtypes.is_known(e.dtype):
            raise FormatError(f"Unsupported dtype {e.dtype} for {where}. Expected one of the "
                              "numeric, bool or string TensorFlow dtypes.")
        if e.shape is None or e.unknown_rank or any(d < 0 for d in e.shape):
            raise FormatError(f"Invalid shape {e.shape} for {where}: expected a fully defined "
                              "shape. The index is damaged.")
        if e.slices:
            return  # a partitioned tensor's full entry: no bytes of its own
        if not 0 <= e.shard_id < self.header.num_shards:
            raise FormatError(f"Invalid shard_id {e.shard_id} for {where}: the bundle has "
                              f"{self.header.num_shards} shard(s). The index is damaged.")
        limit = self._shard_sizes[e.shard_id]
        if e.offset < 0 or e.size < 0 or e.offset + e.size > limit:
            data = layout.data_path(self.prefix, e.shard_id, self.header.num_shards)
            raise FormatError(f"Expected the bytes of {where} inside its data file {data!r} "
                              f"({limit} bytes). Received [offset {e.offset}, size {e.size}). "
                              "The data file is truncated or the index is damaged.")
        count = proto.element_count(e.shape, where)
        if e.dtype == DT_STRING:
            self._check_string_size(where, e, count, limit)
        elif count * dtypes.numpy_dtype(e.dtype).itemsize != e.size:
            raise FormatError(f"Expected {count * dtypes.numpy_dtype(e.dtype).itemsize} bytes for "
                              f"{where} (shape {list(e.shape)}, {dtypes.dtype_name(e.dtype)}). "
                              f"Received size {e.size}. The index is damaged.")

    def _check_string_size(self, where: str, e: proto.BundleEntry, count: int,
                           limit: int) -> None:
        """A DT_STRING tensor stores a varint length per element and a 4-byte checksum, so its
        element count is bounded by its size, and that by the data file: checked here, before
        a single length is decoded, so a hostile shape cannot make the reader allocate."""
        if count == 0 and e.size in (0, 4):
            return
        if e.size < count + 4:
            data = layout.data_path(self.prefix, e.shard_id, self.header.num_shards)
            raise FormatError(
                f"Expected at least {count + 4} bytes for {where} (shape {list(e.shape)}: "
                f"{count} string lengths and a 4-byte checksum) inside its data file {data!r} "
                f"({limit} bytes). Received size {e.size}. The index is damaged. Fix: re-save "
                "the checkpoint or restore its files from a backup.")

    # ------------------------------------------------------------------ metadata
    def keys(self) -> list[str]:
        """Tensor names in sorted (index) order, the header excluded."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def has_tensor(self, name: str) -> bool:
        """Whether the bundle holds a tensor named ``name`` (TensorFlow's ``has_tensor``)."""
        return name in self._entries

    def entry(self, name: str) -> proto.BundleEntry:
        """The raw ``BundleEntryProto`` of a tensor."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f'Tensor "{name}" not found in checkpoint {self.index_file!r}. '
                           f"It has {len(self._entries)} tensors, e.g. "
                           f"{list(self._entries)[:5]}.") from None

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        """Name -> shape (a list of ints), like ``tf.train.load_checkpoint(...)``'s map."""
        return {n: list(e.shape or ()) for n, e in self._entries.items()}

    def get_variable_to_dtype_map(self) -> dict[str, str]:
        """Name -> TensorFlow dtype name (``"float32"``, ``"bfloat16"``, ``"string"`` ...)."""
        return {n: dtypes.dtype_name(e.dtype) for n, e in self._entries.items()}

    # ------------------------------------------------------------------ data
    def _payload(self, name: str, e: proto.BundleEntry) -> memoryview:
        if e.slices:
            raise FormatError(f"{self._where(name)} is partitioned into {len(e.slices)} slices; "
                              "savepoint does not read partitioned tensors. Fix: re-save it "
                              "unpartitioned.")
        if e.shard_id not in self._maps:
            path = layout.data_path(self.prefix, e.shard_id, self.header.num_shards)
            mapped = storage.map_file(path)
            if len(mapped) != self._shard_sizes[e.shard_id]:
                raise self._fail(f"its data file {path!r} changed size while open")
            self._maps[e.shard_id] = mapped
        return self._maps[e.shard_id][e.offset:e.offset + e.size]

    def _check_crc(self, name: str, e: proto.BundleEntry, payload: memoryview,
                   actual: Union[int, None] = None) -> None:
        actual = crc.value(payload) if actual is None else actual
        if actual != crc.unmask(e.crc32c):
            data = layout.data_path(self.prefix, e.shard_id, self.header.num_shards)
            raise FormatError(f"Checksum mismatch for {self._where(name)}: expected "
                              f"{crc.unmask(e.crc32c):#010x}, computed {actual:#010x}. The "
                              f"data file {data!r} is damaged. Fix: restore it from a backup "
                              f"or re-save.")

    def _verified_payload(self, name: str) -> tuple[proto.BundleEntry, memoryview]:
        e = self.entry(name)
        payload = self._payload(name, e)
        if e.dtype != DT_STRING:
            self._check_crc(name, e, payload)
        return e, payload

    def get_tensor(self, name: str) -> Tensor:
        """The tensor's value, checksum-verified: a numpy array (a copy, not a view of the file),
        a :class:`BFloat16Array` for bfloat16, ``bytes`` for a string scalar, or an object array
        of ``bytes`` for other string tensors."""
        e, payload = self._verified_payload(name)
        assert e.shape is not None
        if e.dtype == DT_STRING:
            data = layout.data_path(self.prefix, e.shard_id, self.header.num_shards)
            values = layout.decode_strings(payload, proto.element_count(e.shape, name),
                                           crc.unmask(e.crc32c),
                                           f"{self._where(name)} (data file {data!r})")
            if not e.shape:
                return values[0]
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out.reshape(e.shape)
        array = np.frombuffer(payload, dtype=dtypes.numpy_dtype(e.dtype)).reshape(e.shape).copy()
        return BFloat16Array(array) if e.dtype == DT_BFLOAT16 else array

    def read_into(self, name: str, out: Target) -> None:
        """Copy a numeric tensor into a preallocated C-contiguous array of its shape and dtype.

        The checksum is verified before ``out`` is touched. For bfloat16 pass a
        :class:`BFloat16Array` or a ``uint16``/``ml_dtypes.bfloat16`` array.

        Example:
            >>> import numpy as np, tempfile, os
            >>> from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
            >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
            >>> write_bundle(prefix, {"w": np.arange(4, dtype=np.float32)})
            >>> out = np.zeros(4, np.float32)
            >>> with BundleReader(prefix) as r:
            ...     r.read_into("w", out)
            >>> out.tolist()
            [0.0, 1.0, 2.0, 3.0]
        """
        self.read_many_into([(name, out)])

    def read_many_into(self, targets: Union[Mapping[str, Target],
                                            Iterable[tuple[str, Target]]]) -> None:
        """Copy many numeric tensors into preallocated arrays, all or nothing.

        ``targets`` maps names to arrays as :meth:`read_into` takes them (or is a sequence of
        ``(name, array)`` pairs). Every target's shape and dtype and every checksum is checked
        before any target is written; then each tensor is copied once, straight from the
        memory-mapped file. Big bundles use a few threads for both passes.

        Example:
            >>> import numpy as np, tempfile, os
            >>> from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
            >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
            >>> write_bundle(prefix, {"a": np.ones(2, np.int64), "b": np.full(3, 2.0)})
            >>> a, b = np.zeros(2, np.int64), np.zeros(3)
            >>> with BundleReader(prefix) as r:
            ...     r.read_many_into({"a": a, "b": b})
            >>> a.tolist(), b.tolist()
            ([1, 1], [2.0, 2.0, 2.0])
        """
        items = list(targets.items() if isinstance(targets, Mapping) else targets)
        jobs = [(name, self._target_bytes(name, out)) for name, out in items]
        payloads = [(name, self.entry(name), self._payload(name, self.entry(name)), dst)
                    for name, dst in jobs]
        # each tensor once, even if it has several targets
        self._check_crcs({name: (e, payload) for name, e, payload, _ in payloads})
        parallel.run_all([task for _, _, payload, dst in payloads
                          for task in _copy_tasks(payload, dst)])

    def _check_crcs(self, checks: Mapping[str, tuple[proto.BundleEntry, memoryview]]) -> None:
        """Verify these tensors' checksums. Big tensors are checksummed in pieces spread over
        the helper threads, the pieces' CRCs combined (a 400 MB tensor does not hold one thread
        while the others wait); raises for the first damaged tensor, in ``checks`` order."""
        pieces = {name: [payload[i:i + _CHUNK_BYTES]
                         for i in range(0, len(payload), _CHUNK_BYTES)] or [payload]
                  for name, (_, payload) in checks.items()}
        crcs = {name: [0] * len(parts) for name, parts in pieces.items()}

        def piece_task(name: str, i: int) -> Callable[[], None]:
            def run() -> None:
                crcs[name][i] = crc.value(pieces[name][i])
            return run

        parallel.run_all([(len(part), piece_task(name, i))
                          for name, parts in pieces.items() for i, part in enumerate(parts)])
        for name, (e, payload) in checks.items():
            actual = crc.combine_all(crcs[name], [len(part) for part in pieces[name]])
            self._check_crc(name, e, payload, actual)

    def _target_bytes(self, name: str, out: Target) -> np.ndarray:
        """Check ``out`` against the entry; return a flat uint8 view of its memory."""
        target = out.bits if isinstance(out, BFloat16Array) else out
        e = self.entry(name)
        if e.dtype == DT_STRING:
            raise TypeError(f"Expected a numeric tensor for read_into. {self._where(name)} is a "
                            "string tensor. Fix: use get_tensor().")
        want = dtypes.numpy_dtype(e.dtype)
        ok_dtype = target.dtype == want or (e.dtype == DT_BFLOAT16 and
                                            target.dtype.name in ("uint16", "bfloat16"))
        if tuple(target.shape) != e.shape or not ok_dtype or not target.flags.c_contiguous:
            raise ValueError(f"Expected a C-contiguous array of shape {list(e.shape or ())} and "
                             f"dtype {dtypes.dtype_name(e.dtype)} for {self._where(name)}. "
                             f"Received shape {list(target.shape)}, dtype {target.dtype}.")
        if not target.flags.writeable:
            raise ValueError(f"Expected a writable array for {self._where(name)}. Received a "
                             "read-only one. Fix: pass a writable array (e.g. np.empty(...)).")
        return target.reshape(-1).view(np.uint8)

    def check_all(self) -> None:
        """Verify every tensor's checksum without keeping any value (raises ``FormatError``
        naming the first damaged tensor). String tensors are decoded one at a time.

        Example:
            >>> import numpy as np, tempfile, os
            >>> from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
            >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
            >>> write_bundle(prefix, {"a": np.ones(2, np.int64), "s": "text"})
            >>> BundleReader(prefix).check_all()
        """
        numeric = {}
        for name, e in self._entries.items():
            if e.slices:
                continue
            if e.dtype == DT_STRING:
                self.get_tensor(name)
            else:
                numeric[name] = (e, self._payload(name, e))
        self._check_crcs(numeric)

    def read_all(self) -> dict[str, Tensor]:
        """Every tensor, each checksum-verified (raises before returning anything if one fails)."""
        return {name: self.get_tensor(name) for name in self._entries}

    def close(self) -> None:
        """Release the memory maps of the data files."""
        for view in self._maps.values():
            view.release()
        self._maps.clear()

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
