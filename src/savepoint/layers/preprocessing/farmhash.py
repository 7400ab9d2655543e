"""FarmHash ``Fingerprint64`` (farmhashna's 64-bit hash), the hash TensorFlow's
``tf.strings.to_hash_bucket_fast`` applies, so ``StringLookup`` sends out-of-vocabulary strings to
the OOV index TensorFlow picks.

Written from FarmHash's public description of ``farmhashna::Hash64``: strings of 0-16, 17-32 and
33-64 bytes each have a closed form; longer ones run a 64-byte block loop over a 56-byte state and
finish on the last 64 bytes. The arithmetic is on uint64 numpy arrays (wrapping, as the C++ does),
vectorised over all strings of one byte length at a time.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

K0 = np.uint64(0xc3a5c85c97cb3127)
K1 = np.uint64(0xb492b66fbe98f273)
K2 = np.uint64(0x9ae16a3b2f90404f)
_U64 = np.uint64


def _rot(v: np.ndarray, shift: int) -> np.ndarray:
    """Rotate right by ``shift`` (1..63) bits."""
    return (v >> _U64(shift)) | (v << _U64(64 - shift))


def _shift_mix(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> _U64(47))


def _len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
    """Murmur-inspired mix of two 64-bit values (FarmHash's ``HashLen16`` with a multiplier)."""
    a = _shift_mix((u ^ v) * mul)
    b = _shift_mix((v ^ a) * mul)
    return b * mul


class _Bytes:
    """Strings of one byte length as an ``(n, length)`` uint8 matrix, read as little-endian
    words."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.length = rows.shape[1]

    def u64(self, offset: int) -> np.ndarray:
        return np.ascontiguousarray(self.rows[:, offset:offset + 8]).view("<u8")[:, 0] \
            .astype(np.uint64)

    def u32(self, offset: int) -> np.ndarray:
        return np.ascontiguousarray(self.rows[:, offset:offset + 4]).view("<u4")[:, 0] \
            .astype(np.uint64)


def _len0to16(s: _Bytes) -> np.ndarray:
    n, length = s.rows.shape[0], s.length
    if length >= 8:
        mul = K2 + _U64(length * 2)
        a = s.u64(0) + K2
        b = s.u64(length - 8)
        c = _rot(b, 37) * mul + a
        d = (_rot(a, 25) + b) * mul
        return _len16(c, d, mul)
    if length >= 4:
        mul = K2 + _U64(length * 2)
        a = s.u32(0)
        return _len16(_U64(length) + (a << _U64(3)), s.u32(length - 4), mul)
    if length > 0:
        a, b, c = (s.rows[:, i].astype(np.uint64) for i in (0, length >> 1, length - 1))
        y = (a + (b << _U64(8))) & _U64(0xffffffff)
        z = (_U64(length) + (c << _U64(2))) & _U64(0xffffffff)
        return _shift_mix(y * K2 ^ z * K0) * K2
    return np.full(n, K2, dtype=np.uint64)


def _ends(s: _Bytes, k: np.uint64) -> tuple[np.ndarray, ...]:
    """The multiplier and the first and last 16 bytes, mixed as both medium lengths start."""
    length = s.length
    mul = K2 + _U64(length * 2)
    return mul, s.u64(0) * k, s.u64(8), s.u64(length - 8) * mul, s.u64(length - 16) * K2


def _len17to32(s: _Bytes) -> np.ndarray:
    mul, a, b, c, d = _ends(s, K1)
    return _len16(_rot(a + b, 43) + _rot(c, 30) + d, a + _rot(b + K2, 18) + c, mul)


def _len33to64(s: _Bytes) -> np.ndarray:
    length = s.length
    mul, a, b, c, d = _ends(s, K2)
    y = _rot(a + b, 43) + _rot(c, 30) + d
    z = _len16(y, a + _rot(b + K2, 18) + c, mul)
    e = s.u64(16) * mul
    f = s.u64(24)
    g = (y + s.u64(length - 32)) * mul
    h = (z + s.u64(length - 24)) * mul
    return _len16(_rot(e + f, 43) + _rot(g, 30) + h, e + _rot(f + a, 18) + g, mul)


def _weak32(s: _Bytes, at: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FarmHash's ``WeakHashLen32WithSeeds`` over the 32 bytes at ``at``."""
    w, x, y, z = (s.u64(at + i) for i in (0, 8, 16, 24))
    a = a + w
    b = _rot(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rot(a, 44)
    return a + z, b + c


def _over64(s: _Bytes) -> np.ndarray:
    length, n = s.length, s.rows.shape[0]
    seed = _U64(81)
    zero = np.zeros(n, np.uint64)
    y = np.full(n, seed * K1 + _U64(113), np.uint64)
    z = _shift_mix(y * K2 + _U64(113)) * K2
    v, w = (zero, zero), (zero, zero)
    x = np.full(n, seed, np.uint64) * K2 + s.u64(0)
    last64 = ((length - 1) // 64) * 64 + ((length - 1) & 63) - 63
    for at in range(0, ((length - 1) // 64) * 64, 64):
        x = _rot(x + y + v[0] + s.u64(at + 8), 37) * K1
        y = _rot(y + v[1] + s.u64(at + 48), 42) * K1
        x = x ^ w[1]
        y = y + v[0] + s.u64(at + 40)
        z = _rot(z + w[0], 33) * K1
        v = _weak32(s, at, v[1] * K1, x + w[0])
        w = _weak32(s, at + 32, z + w[1], y + s.u64(at + 16))
        z, x = x, z
    mul = K1 + ((z & _U64(0xff)) << _U64(1))
    w0 = w[0] + _U64((length - 1) & 63)
    v0 = v[0] + w0
    w0 = w0 + v0
    v, w = (v0, v[1]), (w0, w[1])
    at = last64
    x = _rot(x + y + v[0] + s.u64(at + 8), 37) * mul
    y = _rot(y + v[1] + s.u64(at + 48), 42) * mul
    x = x ^ (w[1] * _U64(9))
    y = y + v[0] * _U64(9) + s.u64(at + 40)
    z = _rot(z + w[0], 33) * mul
    v = _weak32(s, at, v[1] * mul, x + w[0])
    w = _weak32(s, at + 32, z + w[1], y + s.u64(at + 16))
    z, x = x, z
    return _len16(_len16(v[0], w[0], mul) + _shift_mix(y) * K0 + z,
                  _len16(v[1], w[1], mul) + x, mul)


def _hash_rows(rows: np.ndarray) -> np.ndarray:
    s = _Bytes(rows)
    with np.errstate(over="ignore"):
        if s.length <= 16:
            return _len0to16(s)
        if s.length <= 32:
            return _len17to32(s)
        if s.length <= 64:
            return _len33to64(s)
        return _over64(s)


def fingerprint64(values: Iterable[str | bytes]) -> np.ndarray:
    """FarmHash ``Fingerprint64`` of each string (UTF-8 encoded) or bytes, as uint64.

    Example:
        >>> fingerprint64(["", "hello"]).tolist()
        [11160318154034397263, 13009744463427800296]
    """
    data = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    out = np.zeros(len(data), np.uint64)
    by_length: dict[int, list[int]] = {}
    for i, item in enumerate(data):
        by_length.setdefault(len(item), []).append(i)
    for length, index in by_length.items():
        rows = np.frombuffer(b"".join(data[i] for i in index), np.uint8).reshape(
            len(index), length)
        out[index] = _hash_rows(rows)
    return out


def hash_bucket(values: Iterable[str | bytes], num_buckets: int) -> np.ndarray:
    """TensorFlow's ``tf.strings.to_hash_bucket_fast``: ``Fingerprint64 % num_buckets``, int64.

    Example:
        >>> hash_bucket(["a", "zz", ""], 3).tolist()
        [0, 1, 2]
    """
    return (fingerprint64(values) % np.uint64(num_buckets)).astype(np.int64)


__all__ = ["fingerprint64", "hash_bucket"]
