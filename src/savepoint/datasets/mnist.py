"""MNIST with the Keras API: ``load_data()`` downloads Keras's ``mnist.npz`` or falls back offline.

``load_data`` returns the 60,000/10,000-digit Keras arrays when the standard file can be fetched
(or is cached, re-verified by sha256, under ``$SAVEPOINT_HOME/datasets`` — default
``~/.savepoint/datasets``). When there is no network (or ``SAVEPOINT_OFFLINE=1``), it warns once
and returns the 10,000-digit sample shipped inside the package (5,000 train / 5,000 test, made
from the real MNIST test set by ``tools/make_mnist_sample.py``), so tutorials run anywhere.

Example:
    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, x_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import io
import os
import socket
import time
import urllib.error
import urllib.request
import warnings

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
CONNECT_TIMEOUT_S = 3.0
TOTAL_TIMEOUT_S = 120.0
SAMPLE_RESOURCE = "mnist_sample.npz"
SAMPLE_TEXT = "the embedded 10,000-digit sample (5,000 train / 5,000 test) shipped with savepoint"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_CHUNK = 1 << 16

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DownloadError(OSError):
    """A download failed or its bytes did not match the expected sha256 (the fallback cue).

    Example:
        >>> str(DownloadError("the download took longer than 120 s"))
        'the download took longer than 120 s'
    """


def load_data(path: str = "mnist.npz") -> Arrays:
    """Load MNIST as Keras does: ``((x_train, y_train), (x_test, y_test))`` of uint8 arrays.

    ``path`` is where to cache the file, relative to ``$SAVEPOINT_HOME/datasets`` (default
    ``~/.savepoint/datasets``); an absolute path is used as is. Without network access, or with
    ``SAVEPOINT_OFFLINE=1``, warns once and returns the embedded 5,000/5,000-digit sample.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape  # doctest: +SKIP
        ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    """
    if os.environ.get("SAVEPOINT_OFFLINE", "") not in ("", "0"):
        return _fallback("offline mode: SAVEPOINT_OFFLINE is set")
    target = os.path.join(cache_dir(), os.fspath(path))
    try:
        if not _cached_file_ok(target):
            download(ORIGIN, target, SHA256)
    except DownloadError as e:
        return _fallback(str(e))
    return read_npz(target)


def cache_dir() -> str:
    """The dataset cache directory: ``$SAVEPOINT_HOME/datasets`` or ``~/.savepoint/datasets``.

    Example:
        >>> cache_dir().endswith("datasets")
        True
    """
    home = os.environ.get("SAVEPOINT_HOME") or os.path.join(os.path.expanduser("~"), ".savepoint")
    return os.path.join(home, "datasets")


def _cached_file_ok(target: str) -> bool:
    """Whether ``target`` exists with the right sha256; a damaged cached file is deleted."""
    if not os.path.isfile(target):
        return False
    if file_sha256(target) == SHA256:
        return True
    storage.remove(target)
    return False


def file_sha256(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in chunks.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); open(p, "wb").write(b"abc")
        3
        >>> file_sha256(p)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with storage.open_read(path) as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, target: str, sha256: str, connect_timeout: float | None = None,
             total_timeout: float | None = None) -> None:
    """Download ``url`` to ``target`` atomically, checking its sha256 before the file appears.

    Each socket operation times out after ``connect_timeout`` seconds (default
    ``CONNECT_TIMEOUT_S``) and the whole transfer after ``total_timeout`` (default
    ``TOTAL_TIMEOUT_S``); any failure (network error, timeout, hash mismatch) raises
    ``DownloadError`` and leaves no file behind (the bytes go to a temporary name first).

    Example:
        >>> download(ORIGIN, "/tmp/mnist.npz", SHA256)  # doctest: +SKIP
    """
    connect_timeout = CONNECT_TIMEOUT_S if connect_timeout is None else connect_timeout
    total_timeout = TOTAL_TIMEOUT_S if total_timeout is None else total_timeout
    deadline = time.monotonic() + total_timeout
    digest = hashlib.sha256()
    try:
        storage.makedirs(os.path.dirname(target))
        with urllib.request.urlopen(url, timeout=connect_timeout) as response, \
                storage.atomic_writer(target) as out:
            for chunk in iter(lambda: response.read1(_CHUNK), b""):
                if time.monotonic() > deadline:
                    raise DownloadError(f"the download took longer than {total_timeout:g} s")
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != sha256:
                raise DownloadError(f"sha256 mismatch for {url}: expected {sha256}, received "
                                    f"{digest.hexdigest()}; the file was discarded")
    except DownloadError:
        raise
    except (OSError, urllib.error.URLError, socket.timeout, ValueError) as e:
        raise DownloadError(f"{type(e).__name__}: {e}") from e


def read_npz(path_or_file: str | io.BytesIO) -> Arrays:
    """Read a Keras-layout MNIST ``.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``).

    Pickled object arrays are refused (``allow_pickle=False``); a file without the four arrays
    raises ``FormatError``.

    Example:
        >>> buf = io.BytesIO(); z = np.zeros((1, 28, 28), np.uint8); y = np.zeros(1, np.uint8)
        >>> np.savez(buf, x_train=z, y_train=y, x_test=z, y_test=y); _ = buf.seek(0)
        >>> read_npz(buf)[0][0].shape
        (1, 28, 28)
    """
    try:
        with np.load(path_or_file, allow_pickle=False) as f:
            arrays = {k: f[k] for k in _KEYS if k in f.files}
            found = sorted(f.files)
    except (OSError, ValueError) as e:
        raise FormatError(f"Expected a readable .npz file. Received {path_or_file!r}, which "
                          f"numpy cannot read ({e}). Fix: delete it so it is downloaded "
                          f"again.") from None
    if len(arrays) != len(_KEYS):
        raise FormatError(f"Expected an MNIST .npz with arrays {list(_KEYS)}. Received one with "
                          f"{found}. Fix: delete the file so that it is downloaded again.")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_sample() -> Arrays:
    """The embedded offline sample: 5,000 train digits (even indices of the real MNIST test set)
    and 5,000 test digits (odd indices).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_sample()
        >>> x_train.shape, y_test[:5].tolist()
        ((5000, 28, 28), [2, 0, 1, 9, 9])
    """
    resource = importlib.resources.files("savepoint.datasets").joinpath("data", SAMPLE_RESOURCE)
    return read_npz(io.BytesIO(resource.read_bytes()))


def _fallback(reason: str) -> Arrays:
    warnings.warn(f"savepoint: could not download MNIST ({reason}); using {SAMPLE_TEXT}.",
                  stacklevel=3)
    return load_sample()


def parse_idx(data: bytes, expected_magic: int | None = None) -> np.ndarray:
    """Parse an IDX file (the original MNIST format; gzip-compressed bytes are accepted).

    The header is two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, then
    one big-endian uint32 per dimension. ``expected_magic`` (2051 for images, 2049 for labels)
    makes a file of the other kind fail with ``FormatError``.

    Example:
        >>> raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
        >>> parse_idx(raw, expected_magic=2049).tolist()
        [7, 2, 1]
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic is None or data[:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise FormatError(f"Expected an IDX file (magic 0x0000TTNN, e.g. 2051 for images, 2049 "
                          f"for labels). Received magic {data[:4].hex() or 'none (empty)'}. "
                          f"Fix: pass the (optionally gzipped) MNIST IDX file itself.")
    if expected_magic is not None and magic != expected_magic:
        raise FormatError(f"Expected IDX magic {expected_magic}. Received {magic}. Fix: check "
                          f"that images and labels files were not swapped.")
    ndim, dtype = data[3], np.dtype(_IDX_DTYPES[data[2]])
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(data) != expected:
        raise FormatError(f"Expected {expected} bytes for an IDX array of shape {dims}. Received "
                          f"{len(data)} bytes. Fix: the file is truncated or damaged; fetch it "
                          f"again.")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


__all__ = ["load_data", "load_sample", "parse_idx", "read_npz", "download", "cache_dir",
           "file_sha256", "DownloadError", "ORIGIN", "SHA256"]
