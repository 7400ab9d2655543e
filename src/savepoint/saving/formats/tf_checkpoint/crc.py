"""CRC32C (Castagnoli) checksums, combining them, and TensorFlow/LevelDB's checksum masking.

TensorFlow stores masked checksums so that a CRC of data that itself embeds CRCs stays strong:
``masked = ((c >> 15) | (c << 17)) + 0xa282ead8  (mod 2**32)``. :func:`combine` joins the CRCs
of two adjacent pieces without reading them again, so that pieces of one big tensor can be
checksummed on several threads.

Example:
    >>> hex(value(b"123456789"))
    '0xe3069283'
    >>> unmask(mask(0x12345678)) == 0x12345678
    True
"""

from __future__ import annotations

import functools
from typing import Sequence, Union

import crc32c as _crc32c  # C-accelerated (SSE4.2 / ARMv8 CRC instructions where available)

Buffer = Union[bytes, bytearray, memoryview]

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF
_POLY = 0x82F63B78  # CRC-32C's polynomial, bit-reflected


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


def _multiply(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC polynomial, in the reflected bit order CRCs use."""
    product, bit = 0, 1 << 31
    while True:
        if a & bit:
            product ^= b
            if not a & (bit - 1):
                return product
        bit >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


_X_POW_2N = [1 << 30]  # x^(2^n) mod p for n = 0..31 (x^1 is bit 30 when reflected)
for _ in range(31):
    _X_POW_2N.append(_multiply(_X_POW_2N[-1], _X_POW_2N[-1]))


@functools.lru_cache(maxsize=64)
def _shift_operator(length: int) -> int:
    """x^(8 * length) mod p: what appending ``length`` zero bytes multiplies a CRC by (cached:
    the pieces of a big tensor share one length)."""
    power, n, k = 1 << 31, length, 3  # 1 << 31 is x^0; bytes are 2^3 bits
    while n:
        if n & 1:
            power = _multiply(_X_POW_2N[k & 31], power)
        n >>= 1
        k += 1
    return power


def combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC32C of ``A + B`` from ``crc1 = value(A)``, ``crc2 = value(B)`` and ``len(B)`` (zlib's
    ``crc32_combine``, for the Castagnoli polynomial).

    Example:
        >>> combine(value(b"1234"), value(b"56789"), 5) == value(b"123456789")
        True
    """
    if length2 < 0:
        raise ValueError(f"Expected a byte count >= 0 for the second piece. Received {length2}.")
    return _multiply(_shift_operator(length2), crc1 & _U32) ^ (crc2 & _U32)


def combine_all(crcs: Sequence[int], lengths: Sequence[int]) -> int:
    """CRC32C of consecutive pieces from their CRCs and byte counts, in order.

    Example:
        >>> combine_all([value(b"12"), value(b"345"), value(b"6789")], [2, 3, 4]) == \\
        ...     value(b"123456789")
        True
    """
    total = 0
    for piece_crc, length in zip(crcs, lengths):
        total = combine(total, piece_crc, length)
    return total
