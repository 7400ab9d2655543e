"""CRC32C (Castagnoli) checksums and TensorFlow/LevelDB's checksum masking.

TensorFlow stores masked checksums so that a CRC of data that itself embeds CRCs stays strong:
``masked = ((c >> 15) | (c << 17)) + 0xa282ead8  (mod 2**32)``.

Example:
    >>> hex(value(b"123456789"))
    '0xe3069283'
    >>> unmask(mask(0x12345678)) == 0x12345678
    True
"""

from __future__ import annotations

from typing import Union

import crc32c as _crc32c  # C-accelerated (SSE4.2 / ARMv8 CRC instructions where available)

Buffer = Union[bytes, bytearray, memoryview]

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def value(data: Buffer) -> int:
    """CRC32C of ``data`` (any contiguous buffer, including numpy arrays).

    Example:
        >>> value(b"")
        0
    """
    return _crc32c.crc32c(data)


def extend(crc: int, data: Buffer) -> int:
    """CRC32C of the concatenation of the bytes that gave ``crc`` and ``data``.

    Example:
        >>> extend(value(b"1234"), b"56789") == value(b"123456789")
        True
    """
    return _crc32c.crc32c(data, crc)


def mask(crc: int) -> int:
    """TensorFlow's masked form of a CRC (what files store).

    Example:
        >>> hex(mask(0))
        '0xa282ead8'
    """
    crc &= _U32
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`.

    Example:
        >>> unmask(0xa282ead8)
        0
    """
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32
