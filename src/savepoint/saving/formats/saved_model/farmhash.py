"""FarmHash ``Fingerprint64`` and TensorFlow's ``FingerprintCat64``, in pure Python.

``fingerprint.pb`` (TF's ``FingerprintDef``) holds FarmHash fingerprints: ``Fingerprint64`` is
farmhash's ``farmhashna::Hash64`` (the portable fingerprint that never changes, the one the
``tf.fingerprint`` op computes per row) and ``fingerprint_cat64`` is the combination of two
fingerprints in ``tensorflow/core/platform/fingerprint.h``. The arithmetic is uint64 with
wrap-around (Python ints masked to 64 bits). ~2 MB/s on this machine: TF fingerprints only
``saved_model.pb`` and ``variables/variables.index``, both small (the weights live in the data shards). Golden
values from TF itself: ``tests/fixtures/farmhash64.json`` (``tools/make_farmhash_goldens.py``).
``layers/preprocessing/farmhash.py`` computes the same hash with numpy, vectorized over many
short strings (StringLookup's OOV buckets); ``saving.formats`` may not import ``layers``
(``tests/test_import_contract.py``), and this one hashes one long buffer.

Example:
    >>> fingerprint64(b""), fingerprint64(b"savepoint") == fingerprint64(b"savepoint")
    (11160318154034397263, True)
    >>> fingerprint_cat64(0, fingerprint64(b"a")) != fingerprint_cat64(fingerprint64(b"a"), 0)
    True
"""

from __future__ import annotations

from typing import Union

MASK = (1 << 64) - 1
K0, K1, K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F
_CAT_MUL = 0xC6A4A7935BD1E995
_SEED = 81


def _rot(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & MASK


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _f64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = K2 + n * 2
        a = (_f64(s, 0) + K2) & MASK
        b = _f64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & MASK
        d = ((_rot(a, 25) + b) * mul) & MASK
        return _len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        a = int.from_bytes(s[0:4], "little")
        return _len16(n + (a << 3), int.from_bytes(s[n - 4:n], "little"), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _len17to32(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_f64(s, 0) * K1) & MASK
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & MASK
    d = (_f64(s, n - 16) * K2) & MASK
    return _len16((_rot((a + b) & MASK, 43) + _rot(c, 30) + d) & MASK,
                  (a + _rot((b + K2) & MASK, 18) + c) & MASK, mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_f64(s, 0) * K2) & MASK
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & MASK
    d = (_f64(s, n - 16) * K2) & MASK
    y = (_rot((a + b) & MASK, 43) + _rot(c, 30) + d) & MASK
    z = _len16(y, (a + _rot((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_f64(s, 16) * mul) & MASK
    f = _f64(s, 24)
    g = ((y + _f64(s, n - 32)) * mul) & MASK
    h = ((z + _f64(s, n - 24)) * mul) & MASK
    return _len16((_rot((e + f) & MASK, 43) + _rot(g, 30) + h) & MASK,
                  (e + _rot((f + a) & MASK, 18) + g) & MASK, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24)
    a = (a + w) & MASK
    b = _rot((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rot(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def _round(s: bytes, i: int, x: int, y: int, z: int, v: tuple[int, int], w: tuple[int, int],
           mul: int, last: bool) -> tuple[int, int, int, tuple[int, int], tuple[int, int]]:
    """One 64-byte step of ``farmhashna::Hash64``'s main loop (``last``: the tail's variant)."""
    x = (_rot((x + y + v[0] + _f64(s, i + 8)) & MASK, 37) * mul) & MASK
    y = (_rot((y + v[1] + _f64(s, i + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * 9) & MASK if last else w[1]
    y = (y + (v[0] * 9 if last else v[0]) + _f64(s, i + 40)) & MASK
    z = (_rot((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak32(s, i, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak32(s, i + 32, (z + w[1]) & MASK, (y + _f64(s, i + 16)) & MASK)
    return z, y, x, v, w  # x and z swap places


def fingerprint64(data: Union[bytes, bytearray, memoryview]) -> int:
    """FarmHash ``Fingerprint64`` of ``data`` (TensorFlow's ``tensorflow::Fingerprint64``).

    Example:
        >>> hex(fingerprint64(b"hello"))
        '0xb48be5a931380ce8'
    """
    s = bytes(data)
    n = len(s)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    x = _SEED
    y = (_SEED * K1 + 113) & MASK
    z = (_mix((y * K2 + 113) & MASK) * K2) & MASK
    v = w = (0, 0)
    x = (x * K2 + _f64(s, 0)) & MASK
    end = ((n - 1) // 64) * 64
    for i in range(0, end, 64):
        x, y, z, v, w = _round(s, i, x, y, z, v, w, K1, False)
    mul = K1 + ((z & 0xFF) << 1)
    last = end + ((n - 1) & 63) - 63
    w0 = (w[0] + ((n - 1) & 63)) & MASK
    v0 = (v[0] + w0) & MASK
    w = ((w0 + v0) & MASK, w[1])
    v = (v0, v[1])
    x, y, z, v, w = _round(s, last, x, y, z, v, w, mul, True)
    return _len16((_len16(v[0], w[0], mul) + _mix(y) * K0 + z) & MASK,
                  (_len16(v[1], w[1], mul) + x) & MASK, mul)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64``: two fingerprints combined (not commutative).

    Example:
        >>> fingerprint_cat64(0, 0)
        6351753276682545529
    """
    result = fp1 ^ _CAT_MUL
    result ^= (_mix((fp2 * _CAT_MUL) & MASK) * _CAT_MUL) & MASK
    result = (result * _CAT_MUL) & MASK
    result = (_mix(result) * _CAT_MUL) & MASK
    return _mix(result)


__all__ = ["fingerprint64", "fingerprint_cat64"]
