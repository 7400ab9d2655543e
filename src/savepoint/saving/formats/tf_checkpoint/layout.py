"""Bundle file names and the DT_STRING byte layout inside a ``.data`` file.

Files of a bundle with prefix ``p``: ``p.index`` and ``p.data-00000-of-00001`` (shard ids and
counts are zero-padded to 5 digits).

A DT_STRING tensor of n elements is stored as::

    varint64 len[0] ... varint64 len[n-1] | uint32 masked_crc(lengths) | bytes[0] ... bytes[n-1]

where the length checksum covers each length as a little-endian uint32 (uint64 for lengths
above 2**32-1). The entry's checksum covers those same lengths, the 4 stored checksum bytes and
the string bytes (TensorFlow's ``WriteStringTensor``); an empty tensor is just the 4 bytes.

Example:
    >>> payload, checksum = encode_strings([b"hello"])
    >>> payload.hex(), len(payload)
    ('05d9c69c4368656c6c6f', 10)
    >>> decode_strings(memoryview(payload), 1, checksum, "demo")
    [b'hello']
"""

from __future__ import annotations

import re
import struct
from typing import Sequence

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint import crc
from savepoint.saving.formats.tf_checkpoint.proto import put_varint, read_varint

_U32_MAX = 0xFFFFFFFF


def index_path(prefix: str) -> str:
    """The ``.index`` file of a bundle prefix.

    Example:
        >>> index_path("ckpt/cp.ckpt")
        'ckpt/cp.ckpt.index'
    """
    return f"{prefix}.index"


def data_path(prefix: str, shard_id: int = 0, num_shards: int = 1) -> str:
    """The data file of shard ``shard_id`` of ``num_shards``.

    Example:
        >>> data_path("ckpt/cp.ckpt", 1, 2)
        'ckpt/cp.ckpt.data-00001-of-00002'
    """
    return f"{prefix}.data-{shard_id:05d}-of-{num_shards:05d}"


_DATA_SUFFIX = re.compile(r"\.data-([0-9]{5})-of-([0-9]{5})")


def is_bundle_file(name: str, base: str) -> bool:
    """Whether file name ``name`` is exactly one the layout gives bundle ``base``: ``base.index``
    or a shard ``base.data-SSSSS-of-NNNNN`` with ``SSSSS < NNNNN``.

    Pruning deletes only such names, so a neighbour such as ``base.data-notes.txt`` is never
    taken for a shard.

    Example:
        >>> [is_bundle_file(n, "cp") for n in ("cp.index", "cp.data-00001-of-00002",
        ...                                    "cp.data-00002-of-00002", "cp.data-precious.txt")]
        [True, True, False, False]
    """
    if name == index_path(base):
        return True
    if not name.startswith(base):
        return False
    match = _DATA_SUFFIX.fullmatch(name, len(base))
    return match is not None and int(match.group(1)) < int(match.group(2))


def _length_bytes(length: int) -> bytes:
    return struct.pack("<I" if length <= _U32_MAX else "<Q", length)


def encode_strings(elements: Sequence[bytes]) -> tuple[bytes, int]:
    """Encode string elements; return ``(payload, unmasked entry checksum)``.

    Example:
        >>> encode_strings([])[0].hex()
        'd8ea82a2'
    """
    lengths = bytearray()
    length_crc = 0
    for element in elements:
        put_varint(lengths, len(element))
        length_crc = crc.extend(length_crc, _length_bytes(len(element)))
    stored = struct.pack("<I", crc.mask(length_crc))
    checksum = crc.extend(length_crc, stored)
    for element in elements:
        checksum = crc.extend(checksum, element)
    return bytes(lengths) + stored + b"".join(elements), checksum


def decode_strings(payload: memoryview, count: int, expected_crc: int, where: str) -> list[bytes]:
    """Decode ``count`` strings from ``payload`` (exactly the entry's bytes), verifying checksums.

    ``expected_crc`` is the unmasked entry checksum; ``where`` names the tensor and file.

    Example:
        >>> decode_strings(memoryview(b"\\x01"), 1, 0, "t")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.FormatError: ...
    """
    if count == 0 and len(payload) == 0:
        return []
    if len(payload) < count + 4:
        # Checked before decoding: each length takes at least one byte, so a declared count
        # beyond the payload is damage, and must not cost memory or time proportional to it.
        raise FormatError(f"Expected at least {count + 4} bytes for {where} ({count} string "
                          f"lengths and a 4-byte checksum). Received {len(payload)}. The data "
                          "file or its index is damaged. Fix: restore it from a backup or "
                          "re-save.")
    lengths, pos, length_crc = [], 0, 0
    for _ in range(count):
        n, pos = read_varint(payload, pos, where)
        lengths.append(n)
        length_crc = crc.extend(length_crc, _length_bytes(n))
    if pos + 4 + sum(lengths) != len(payload):
        raise FormatError(f"Expected {where} to hold {pos + 4 + sum(lengths)} bytes "
                          f"({count} string lengths, a checksum and the strings). Received "
                          f"{len(payload)}. The data file is damaged.")
    (stored,) = struct.unpack_from("<I", payload, pos)
    if crc.unmask(stored) != length_crc:
        raise FormatError(f"Checksum mismatch in the string lengths of {where}: expected "
                          f"{crc.unmask(stored):#010x}, computed {length_crc:#010x}. The data "
                          "file is damaged. Fix: restore it from a backup or re-save.")
    checksum = crc.extend(length_crc, payload[pos:pos + 4])
    pos += 4
    out = []
    for n in lengths:
        chunk = payload[pos:pos + n]
        checksum = crc.extend(checksum, chunk)
        out.append(bytes(chunk))
        pos += n
    if checksum != expected_crc:
        raise FormatError(f"Checksum mismatch for {where}: expected {expected_crc:#010x}, "
                          f"computed {checksum:#010x}. The data file is damaged. Fix: restore "
                          "it from a backup or re-save.")
    return out
