"""Reading the pickles inside Keras's dataset files (CIFAR batches, the object arrays of
``imdb.npz``/``reuters.npz``) without running code: an unpickler that resolves only numpy's
array-rebuilding callables and refuses every other global with ``FormatError``."""

from __future__ import annotations

import importlib
import io
import pickle
import warnings
import zipfile
from typing import Any, BinaryIO

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage

# The only globals a pickled numpy array (or a dict/list holding arrays) needs.
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"), ("numpy", "dtype"),
            ("_codecs", "encode")}  # how protocol-2 pickles from Python 3 spell bytes


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise FormatError(f"Expected a pickle of numpy arrays, lists and dicts. Received one "
                              f"that names {module}.{name}, which savepoint does not load (no "
                              f"code runs on load). Fix: delete the file so it is downloaded "
                              f"again.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core -> numpy._core
            return getattr(importlib.import_module(module), name)


def loads(data: bytes | BinaryIO, encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` allowing only numpy arrays and Python containers/scalars.

    Example:
        >>> loads(pickle.dumps({"a": np.arange(3)}))["a"].tolist()
        [0, 1, 2]
    """
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        return _ArrayUnpickler(stream, encoding=encoding).load()
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - any malformed pickle is a damaged file
        raise FormatError(f"Expected a readable pickle of numpy arrays. Received damaged data "
                          f"({type(e).__name__}: {e}). Fix: delete the file so it is "
                          f"downloaded again.") from None


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; object arrays go through ``loads`` (numpy would need
    ``allow_pickle=True``, which runs arbitrary code).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> np.savez(p, x=np.array([[1], [2, 3]], dtype=object), y=np.arange(2))
        >>> [len(v) for v in load_npz(p)["x"]]
        [1, 2]
    """
    out: dict[str, np.ndarray] = {}
    try:
        with storage.open_read(path) as raw, zipfile.ZipFile(raw) as archive:
            for member in archive.namelist():
                key = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as f:
                    out[key] = _read_npy(f, path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FormatError(f"Expected a readable .npz file. Received {path!r}, which cannot be "
                          f"read ({e}). Fix: delete it so it is downloaded again.") from None
    return out


def _read_npy(f: BinaryIO, path: str) -> np.ndarray:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        array = loads(f.read())
        if not isinstance(array, np.ndarray):
            raise FormatError(f"Expected an object array in {path}. Received "
                              f"{type(array).__name__}.")
        return array
    data = f.read()
    count = int(np.prod(shape)) if shape else 1
    if len(data) < count * dtype.itemsize:
        raise FormatError(f"Expected {count * dtype.itemsize} bytes for an array of shape "
                          f"{shape} in {path}. Received {len(data)}. The file is truncated.")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


__all__ = ["loads", "load_npz"]
