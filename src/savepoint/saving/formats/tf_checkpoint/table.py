"""LevelDB-format sorted tables, as TensorFlow's TSL writes them for a checkpoint's ``.index``.

Layout (all integers little-endian)::

    [data block 0][trailer] ... [data block N][trailer]
    [metaindex block (empty)][trailer]
    [index block][trailer]
    [footer: 48 bytes]

A block is a run of entries ``varint shared | varint unshared | varint value_len | key delta |
value`` where ``shared`` is the prefix length common with the previous key (0 at a *restart
point*, every ``restart_interval`` entries), then ``uint32 restarts[n]`` and ``uint32 n``.
A trailer is a type byte (0 = uncompressed) and the masked CRC32C of block + type byte.
The index block (restart interval 1) maps a separator key (>= the block's last key and < the
next block's first key) to the block's handle ``varint offset | varint size``. The footer holds
the metaindex and index handles, zero padding to 40 bytes, and magic ``0xdb4775248b80fb57``.

Defaults match TensorFlow (block size 256 KiB, restart interval 16, no compression), so the
same entries give byte-identical files.

Example:
    >>> data = encode_table([(b"", b"header"), (b"a", b"1"), (b"b", b"2")])
    >>> read_table(data, "demo.index")
    [(b'', b'header'), (b'a', b'1'), (b'b', b'2')]
"""

from __future__ import annotations

import struct
from typing import Iterable, Union

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint import crc
from savepoint.saving.formats.tf_checkpoint.proto import put_varint, read_varint

Buffer = Union[bytes, bytearray, memoryview]

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
TRAILER_SIZE = 5
DEFAULT_BLOCK_SIZE = 262144
DEFAULT_RESTART_INTERVAL = 16
_NO_COMPRESSION = 0
_SNAPPY = 1
# Keys rebuilt from shared prefixes may total this many times the file's size (plus 1 MiB);
# TensorFlow's restart interval of 16 keeps real tables far below it.
_KEY_EXPANSION = 64


class _BlockBuilder:
    """Accumulates prefix-compressed entries of one block."""

    def __init__(self, restart_interval: int) -> None:
        self.restart_interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def empty(self) -> bool:
        return not self.buffer

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.restart_interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        put_varint(self.buffer, shared)
        put_varint(self.buffer, len(key) - shared)
        put_varint(self.buffer, len(value))
        self.buffer += key[shared:]
        self.buffer += value
        self.last_key = key
        self.counter += 1

    def finish(self) -> bytes:
        out = self.buffer + struct.pack(f"<{len(self.restarts) + 1}I", *self.restarts,
                                        len(self.restarts))
        return bytes(out)


def _shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key k with start <= k < limit (LevelDB's bytewise FindShortestSeparator)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i >= n:
        return start  # one is a prefix of the other: do not shorten
    byte = start[i]
    if byte < 0xFF and byte + 1 < limit[i]:
        return start[:i] + bytes([byte + 1])
    return start


def _short_successor(key: bytes) -> bytes:
    """A short key >= ``key`` (LevelDB's bytewise FindShortSuccessor)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def _encode_handle(offset: int, size: int) -> bytes:
    out = bytearray()
    put_varint(out, offset)
    put_varint(out, size)
    return bytes(out)


class TableBuilder:
    """Builds a table in memory from keys added in strictly increasing byte order.

    Example:
        >>> b = TableBuilder(); b.add(b"k", b"v"); len(b.finish())
        98
    """

    def __init__(self, block_size: int = DEFAULT_BLOCK_SIZE,
                 restart_interval: int = DEFAULT_RESTART_INTERVAL) -> None:
        self.block_size = block_size
        self.out = bytearray()
        self.data_block = _BlockBuilder(restart_interval)
        self.index_block = _BlockBuilder(1)
        self.last_key: bytes | None = None
        self.pending_handle: bytes | None = None

    def add(self, key: bytes, value: bytes) -> None:
        """Append one entry; keys must be strictly increasing (bytewise)."""
        if self.last_key is not None:
            if key <= self.last_key:
                raise ValueError(f"Expected keys in strictly increasing order. Received {key!r} "
                                 f"after {self.last_key!r}. Fix: sort the entries by key.")
            if len(key) + len(value) >= 2 * self.block_size:
                self._flush()
        if self.pending_handle is not None:
            assert self.last_key is not None
            self.index_block.add(_shortest_separator(self.last_key, key), self.pending_handle)
            self.pending_handle = None
        self.last_key = key
        self.data_block.add(key, value)
        if self.data_block.size_estimate() >= self.block_size:
            self._flush()

    def _flush(self) -> None:
        if self.data_block.empty():
            return
        self.pending_handle = self._write_block(self.data_block)

    def _write_block(self, block: _BlockBuilder) -> bytes:
        contents = block.finish()
        block.reset()
        handle = _encode_handle(len(self.out), len(contents))
        trailer_crc = crc.mask(crc.extend(crc.value(contents), bytes([_NO_COMPRESSION])))
        self.out += contents
        self.out += bytes([_NO_COMPRESSION]) + struct.pack("<I", trailer_crc)
        return handle

    def finish(self) -> bytes:
        """Write the pending block, the metaindex and index blocks and the footer; return bytes."""
        self._flush()
        metaindex_handle = self._write_block(_BlockBuilder(DEFAULT_RESTART_INTERVAL))
        if self.pending_handle is not None:
            assert self.last_key is not None
            self.index_block.add(_short_successor(self.last_key), self.pending_handle)
            self.pending_handle = None
        index_handle = self._write_block(self.index_block)
        footer = (metaindex_handle + index_handle).ljust(FOOTER_SIZE - 8, b"\0")
        self.out += footer + struct.pack("<Q", MAGIC)
        return bytes(self.out)


def encode_table(entries: Iterable[tuple[bytes, bytes]], block_size: int = DEFAULT_BLOCK_SIZE,
                 restart_interval: int = DEFAULT_RESTART_INTERVAL) -> bytes:
    """Encode sorted ``(key, value)`` pairs as a table, exactly as TensorFlow would.

    Example:
        >>> encode_table([(b"a", b"1")])[-8:].hex()
        '57fb808b247547db'
    """
    builder = TableBuilder(block_size, restart_interval)
    for key, value in entries:
        builder.add(key, value)
    return builder.finish()


# ----------------------------------------------------------------------------- reading
def _fail(name: str, detail: str) -> FormatError:
    return FormatError(f"Unable to read table file {name!r}: {detail}. The file is damaged, "
                       "truncated or not a TensorFlow checkpoint index. Fix: re-save the "
                       "checkpoint or restore the file from a backup.")


def _decode_handle(buf: Buffer, pos: int, name: str, what: str) -> tuple[int, int, int]:
    offset, pos = read_varint(buf, pos, f"the {what} handle of {name!r}")
    size, pos = read_varint(buf, pos, f"the {what} handle of {name!r}")
    return offset, size, pos


def _read_block(data: memoryview, offset: int, size: int, limit: int, name: str,
                what: str) -> memoryview:
    """Return a block's contents after checking bounds, type byte and checksum."""
    if offset + size + TRAILER_SIZE > limit:
        raise _fail(name, f"the {what} block [{offset}, {offset + size}) plus its "
                          f"{TRAILER_SIZE}-byte trailer runs past the end of the data ({limit})")
    contents = data[offset:offset + size]
    block_type = data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    actual = crc.extend(crc.value(contents), bytes([block_type]))
    if crc.unmask(stored) != actual:
        raise _fail(name, f"checksum mismatch in the {what} block at offset {offset} "
                          f"(expected {crc.unmask(stored):#010x}, computed {actual:#010x})")
    if block_type == _SNAPPY:
        raise _fail(name, f"the {what} block is snappy-compressed, which savepoint does not "
                          "read (TensorFlow writes checkpoint indexes uncompressed)")
    if block_type != _NO_COMPRESSION:
        raise _fail(name, f"unknown block type {block_type} in the {what} block")
    return contents


def _parse_block(block: memoryview, name: str, what: str,
                 key_budget: int) -> list[tuple[bytes, bytes]]:
    """Decode every entry of a block, validating the restart array and key sharing.

    Shared prefixes let a few bytes stand for a long key, so the keys' total length is capped
    by ``key_budget`` as they are rebuilt: memory stays proportional to the file's size."""
    if len(block) < 4:
        raise _fail(name, f"the {what} block is {len(block)} bytes, shorter than its restart count")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    if num_restarts == 0 or num_restarts > (len(block) - 4) // 4:
        raise _fail(name, f"the {what} block declares {num_restarts} restart points, which do not "
                          f"fit in its {len(block)} bytes")
    restarts_start = len(block) - 4 - 4 * num_restarts
    restarts = struct.unpack_from(f"<{num_restarts}I", block, restarts_start)
    where = f"the {what} block of {name!r}"
    entries: list[tuple[bytes, bytes]] = []
    boundaries: dict[int, int] = {}
    pos, key = 0, b""
    while pos < restarts_start:
        start = pos
        shared, pos = read_varint(block, pos, where)
        unshared, pos = read_varint(block, pos, where)
        value_len, pos = read_varint(block, pos, where)
        if shared > len(key) or pos + unshared + value_len > restarts_start:
            raise _fail(name, f"entry at offset {start} of the {what} block overruns its key or "
                              "the block")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        key_budget -= len(key)
        if key_budget < 0:
            raise _fail(name, f"the keys of {what} expand, through shared prefixes, to more "
                              f"than {_KEY_EXPANSION} times the file's size plus 1 MiB")
        pos += unshared
        entries.append((key, bytes(block[pos:pos + value_len])))
        pos += value_len
        boundaries[start] = shared
    for r in restarts:
        if entries and boundaries.get(r) != 0 or (not entries and r != 0):
            raise _fail(name, f"restart point {r} of the {what} block is not the start of a "
                              "full-key entry")
    return entries


def _check_sorted(keys: list[bytes], name: str) -> None:
    for prev, cur in zip(keys, keys[1:]):
        if cur <= prev:
            raise _fail(name, f"keys are not in strictly increasing order ({cur!r} after {prev!r})")


def read_table(data: Buffer, name: str) -> list[tuple[bytes, bytes]]:
    """Decode and fully validate a table; return all ``(key, value)`` pairs in key order.

    ``name`` (the file name) appears in every error. Checks the footer magic, that every block
    handle lies inside the file before the footer, every block checksum, every varint and key
    delta, that keys are strictly increasing and that index keys separate their blocks.

    Example:
        >>> read_table(b"short", "x.index")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.FormatError: ...
    """
    view = memoryview(data).cast("B") if memoryview(data).format != "B" else memoryview(data)
    if len(view) < FOOTER_SIZE:
        raise _fail(name, f"expected at least {FOOTER_SIZE} bytes (the footer), received "
                          f"{len(view)}")
    footer_at = len(view) - FOOTER_SIZE
    (magic,) = struct.unpack_from("<Q", view, len(view) - 8)
    if magic != MAGIC:
        raise _fail(name, f"bad magic number {magic:#018x} (expected {MAGIC:#018x})")
    footer = view[footer_at:len(view) - 8]
    budget = _KEY_EXPANSION * len(view) + (1 << 20)
    meta_off, meta_size, pos = _decode_handle(footer, 0, name, "metaindex")
    index_off, index_size, _ = _decode_handle(footer, pos, name, "index")
    _parse_block(_read_block(view, meta_off, meta_size, footer_at, name, "metaindex"), name,
                 "metaindex", budget)
    index = _parse_block(_read_block(view, index_off, index_size, footer_at, name, "index"),
                         name, "index", budget)
    budget -= sum(len(k) for k, _ in index)
    _check_sorted([k for k, _ in index], name)
    entries: list[tuple[bytes, bytes]] = []
    for i, (separator, handle) in enumerate(index):
        off, size, end = _decode_handle(handle, 0, name, f"data block {i}")
        if end != len(handle):
            raise _fail(name, f"index entry {i} has {len(handle) - end} trailing bytes")
        block = _parse_block(_read_block(view, off, size, footer_at, name, f"data block {i}"),
                             name, f"data block {i}", budget)
        budget -= sum(len(k) for k, _ in block)
        if not block:
            raise _fail(name, f"data block {i} is empty")
        if block[-1][0] > separator or (entries and block[0][0] <= entries[-1][0]):
            raise _fail(name, f"index key {separator!r} does not separate data block {i}")
        entries += block
    _check_sorted([k for k, _ in entries], name)
    return entries
