"""HDF5 files through h5py: named arrays and attributes in and out, atomically and validated.

This module knows nothing about models: it writes groups, string attributes and datasets (each
streamed from a numpy view, never copied whole) to a temporary file that replaces the target
only once complete, and reads them back into preallocated arrays after checking that each group
and dataset exists with the expected shape and a compatible dtype. Every problem raises a
``FormatError``/``ShapeError``/``DTypeError`` that names the file and the object.

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
    >>> with H5Writer(path) as w:
    ...     w.set_attrs("dense", {"weight_names": ["dense/kernel:0"]})
    ...     w.write_array("dense", "dense/kernel:0", np.ones((2, 3), np.float32))
    >>> with H5Reader(path) as r:
    ...     out = np.empty((2, 3), np.float32)
    ...     r.read_into("dense", "dense/kernel:0", out, what="layer 'dense' weight 'kernel'")
    ...     r.string_list("dense", "weight_names"), float(out.sum())
    (['dense/kernel:0'], 6.0)
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import h5py
import numpy as np

from savepoint.errors import (CheckpointNotFoundError, DTypeError, FormatError, SavepointError,
                              ShapeError)
from savepoint.saving import storage
from savepoint.saving.formats import h5_checksum, h5_isolation

# HDF5 keeps attributes in the object header (64 KiB); Keras 2 splits longer name lists into
# ``name0``, ``name1``, ... attributes. We do the same on write and accept both on read.
HDF5_OBJECT_HEADER_LIMIT = 64512
MAX_NAMES = 1_000_000          # entries in one name-list attribute
MAX_NAME_LENGTH = 65536        # characters in one name
MAX_ATTR_CHUNKS = 100_000      # ``name0`` ... ``nameN`` pieces of one list
MAX_GROUP_KEYS = 1_000_000     # members listed from one group
MAX_COMPRESSION_RATIO = 1100   # DEFLATE cannot expand beyond ~1032:1
_ASCII = h5py.string_dtype("ascii")
_UTF8 = h5py.string_dtype("utf-8")


class H5Writer:
    """A new HDF5 file at ``path``, visible under that name only after a successful ``with``.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.h5")
        >>> with H5Writer(p) as w:
        ...     w.set_attrs("", {"backend": b"tensorflow"})
        >>> with H5Reader(p) as r:
        ...     r.attr("", "backend")
        'tensorflow'
    """

    def __init__(self, path: str, fileobj: Any = None):
        """``fileobj``: write into this seekable binary file (e.g. a zip member) instead of an
        atomically committed file at ``path`` (then used in messages only)."""
        self.path = str(path)
        self._fileobj = fileobj
        self._ctx = storage.atomic_path(self.path) if fileobj is None else None
        self._file: h5py.File | None = None
        self._temp = ""
        self._sums: dict[str, tuple[int, int]] = {}  # dataset -> (crc32c, nbytes), see h5_checksum

    def __enter__(self) -> "H5Writer":
        if self._ctx is None:
            self._file = h5py.File(self._fileobj, "w")
            return self
        temp = self._temp = self._ctx.__enter__()
        try:
            self._file = h5py.File(temp, "w")
        except BaseException as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        file, self._file = self._file, None
        if self._ctx is None:
            self._close_with_checksums(file, exc)
            return
        if exc is not None:
            try:
                file.close()
            finally:
                self._ctx.__exit__(exc_type, exc, tb)
            return
        try:
            self._close_with_checksums(file, exc)  # flushes everything h5py buffered
        except BaseException as close_exc:
            self._ctx.__exit__(type(close_exc), close_exc, close_exc.__traceback__)
            raise
        self._ctx.__exit__(None, None, None)

    def _close_with_checksums(self, file: h5py.File, exc: BaseException | None) -> None:
        """Close the file; after a successful write append the checksum trailer."""
        if exc is not None:
            file.close()
            return
        regions = h5_checksum.build_trailer(file, self._sums)
        file.close()
        trailer = h5_checksum.finish(self._temp, self._fileobj, regions)
        if self._fileobj is None:
            storage.append_bytes(self._temp, trailer)
        else:
            self._fileobj.seek(0, 2)
            self._fileobj.write(trailer)

    def group(self, path: str) -> h5py.Group:
        """The group at ``path`` ("" is the root), created with its parents if needed."""
        assert self._file is not None, "H5Writer used outside its with block"
        return self._file.require_group(path) if path else self._file

    def set_attrs(self, group_path: str, attrs: dict[str, Any]) -> None:
        """Set attributes: ``str`` is stored as UTF-8, ``bytes`` as ASCII (as tf.keras writes
        them), a list of ``str``/``bytes`` as a string array (split as Keras 2 does past 64 KiB),
        an empty list as an empty float64 array (as numpy makes ``np.asarray([])``)."""
        group = self.group(group_path)
        for name, value in attrs.items():
            if isinstance(value, (list, tuple)):
                _set_name_list(group, name, list(value))
            elif isinstance(value, bytes):
                group.attrs.create(name, value, dtype=_ASCII)
            elif isinstance(value, str):
                group.attrs.create(name, value, dtype=_UTF8)
            else:
                group.attrs[name] = value

    def write_array(self, group_path: str, name: str, array: np.ndarray) -> None:
        """Create dataset ``group_path/name`` and stream ``array`` into it (no whole copy)."""
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            raise DTypeError(
                f"Cannot write {name!r} to HDF5 file {self.path!r}: expected a bool, integer or "
                f"floating point array, received dtype {array.dtype}. Fix: cast the variable "
                f"to float32.")
        dataset = self.group(group_path).create_dataset(name, shape=array.shape,
                                                        dtype=array.dtype)
        if array.size == 0:
            return
        contiguous = np.ascontiguousarray(array)
        if array.ndim == 0:
            dataset[()] = array
        else:
            dataset.write_direct(contiguous)
        self._sums[dataset.name] = h5_checksum.array_crc(contiguous)


def _set_name_list(group: h5py.Group, name: str, values: list) -> None:
    if not values:
        group.attrs[name] = np.asarray([])  # float64, as Keras 2 writes an empty list
        return
    encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    too_long = [v for v in encoded if len(v) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise FormatError(
            f"Cannot save attribute {name!r}: expected names shorter than "
            f"{HDF5_OBJECT_HEADER_LIMIT} bytes, received one of {len(too_long[0])} bytes "
            f"({too_long[0][:40]!r}...). Fix: give the layer or variable a shorter name.")
    # Keras 2 measures each piece as a fixed-length string array: entries x longest entry.
    widest = max(1, max(map(len, encoded)))
    chunks = 1
    while -(-len(encoded) // chunks) * widest > HDF5_OBJECT_HEADER_LIMIT:
        chunks += 1
    pieces = np.array_split(np.asarray(encoded, dtype=object), chunks)
    if chunks == 1:
        group.attrs.create(name, pieces[0], dtype=_ASCII)
        return
    for i, piece in enumerate(pieces):
        group.attrs.create(f"{name}{i}", piece, dtype=_ASCII)


class H5Reader:
    """An HDF5 file opened read-only, with validated access to attributes and datasets.

    Example:
        >>> H5Reader("/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """

    def __init__(self, path: str, fileobj: Any = None):
        """``fileobj``: read this seekable binary file (e.g. a zip member in place) instead of
        the file at ``path`` (then used in messages only)."""
        self.path = str(path)
        if fileobj is None and storage.is_remote(self.path) and storage.exists(self.path):
            fileobj = storage.open_read(self.path)  # fetched concurrently; h5py reads memory
        self._fileobj = fileobj
        if fileobj is None and not storage.exists(self.path):
            raise CheckpointNotFoundError(
                f"Expected an HDF5 file at {self.path!r}. Received a path that does not exist. "
                f"Fix: check the path.")
        try:
            self._bytes = h5_checksum.FileBytes(self.path, fileobj)
            self._trailer = h5_checksum.read_trailer(self._bytes, self.path)
            self._file = h5py.File(self.path if fileobj is None else fileobj, "r")
        except SavepointError:
            raise  # storage's own: a directory, a FIFO, an unreadable disk (StorageError)
        except OSError as exc:
            raise FormatError(
                f"Expected an HDF5 file at {self.path!r}, but it cannot be opened as one "
                f"({exc}). The file is damaged, truncated or in another format.") from None
        try:
            h5_isolation.check_file(self._file, self.path)  # before anything is read
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> "H5Reader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def has(self, path: str) -> bool:
        """Whether a group or dataset exists at ``path``."""
        return h5_isolation.exists(self._file, path)

    def has_group(self, path: str) -> bool:
        """Whether a group exists at ``path`` ("" is the root)."""
        return not path or (self.has(path) and isinstance(self._get(path), h5py.Group))

    def _get(self, path: str) -> Any:
        try:
            return h5_isolation.open_object(self._file, path, self.path) if path else self._file
        except SavepointError:
            raise  # a refused link or layout (FormatError is also a ValueError)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise FormatError(f"HDF5 file {self.path!r} is damaged: cannot read {path!r} "
                              f"({exc}).") from None

    def group(self, path: str, what: str = "") -> h5py.Group:
        """The group at ``path``; ``FormatError`` (naming ``what``) if missing."""
        if path and not self.has(path):
            raise FormatError(
                f"HDF5 file {self.path!r} has no group {path!r}{_for(what)}. Fix: load a file "
                f"saved from the same architecture.")
        obj = self._get(path)
        if not isinstance(obj, h5py.Group):
            raise FormatError(f"HDF5 file {self.path!r}: expected a group at {path!r}"
                              f"{_for(what)}, found a dataset.")
        return obj

    def keys(self, group_path: str) -> list[str]:
        """Names of the members of a group (capped at ``MAX_GROUP_KEYS``)."""
        group = self.group(group_path)
        if len(group) > MAX_GROUP_KEYS:
            raise FormatError(f"HDF5 file {self.path!r}: group {group_path!r} has {len(group)} "
                              f"members, more than the {MAX_GROUP_KEYS} allowed.")
        return list(group.keys())

    def attr(self, group_path: str, name: str, default: Any = None) -> Any:
        """A scalar attribute, strings decoded to ``str``; ``default`` if absent."""
        attrs = self.group(group_path).attrs
        try:
            if name not in attrs:
                return default
            value = self._attr_value(attrs, group_path, name)
        except SavepointError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise self._damaged(group_path, name, exc) from None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value

    def string_list(self, group_path: str, name: str) -> list[str] | None:
        """A list-of-names attribute (Keras 2 chunked form too); ``None`` if absent."""
        try:
            return self._string_list(group_path, name)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            if isinstance(exc, SavepointError):
                raise
            raise self._damaged(group_path, name, exc) from None

    def _damaged(self, group_path: str, name: str, exc: BaseException) -> FormatError:
        return FormatError(f"HDF5 file {self.path!r} is damaged: cannot read attribute {name!r} "
                           f"of {group_path or '/'!r} ({exc}).")

    def _attr_value(self, attrs: h5py.AttributeManager, group_path: str, name: str) -> Any:
        """An attribute's value, once its declared size is known to fit in the file (each
        element takes at least one stored byte), so reading it cannot allocate more."""
        attr = attrs.get_id(name)
        count = int(np.prod(attr.shape or (), dtype=object))
        declared = count * attr.dtype.itemsize
        if max(declared, count) > self._size():
            raise FormatError(f"HDF5 file {self.path!r}: attribute {name!r} of "
                              f"{group_path or '/'!r} claims {count} elements ({declared} "
                              f"bytes); expected at most the file's {self._size()} bytes. The "
                              f"file is damaged. Fix: re-save it or restore it from a backup.")
        return attrs[name]

    def _string_list(self, group_path: str, name: str) -> list[str] | None:
        attrs = self.group(group_path).attrs
        if name in attrs:
            return _names(self._attr_value(attrs, group_path, name), self.path, group_path, name)
        if f"{name}0" not in attrs:
            return None
        out: list[str] = []
        for i in range(MAX_ATTR_CHUNKS):
            if f"{name}{i}" not in attrs:
                return out
            out += _names(self._attr_value(attrs, group_path, f"{name}{i}"), self.path,
                          group_path, name)
            _check_count(out, self.path, group_path, name)
        raise FormatError(f"HDF5 file {self.path!r}: attribute {name!r} of {group_path!r} is "
                          f"split into more than {MAX_ATTR_CHUNKS} pieces.")

    def dataset(self, group_path: str, name: str, what: str = "") -> h5py.Dataset:
        """The dataset ``group_path/name``; ``FormatError`` (naming ``what``) if missing."""
        group = self.group(group_path, what)
        if not self.has(f"{group_path}/{name}" if group_path else name):
            raise FormatError(
                f"HDF5 file {self.path!r} has no dataset {name!r} in group "
                f"{group_path or '/'!r}{_for(what)}. Fix: load a file saved from the same "
                f"architecture.")
        obj = self._get(f"{group_path}/{name}" if group_path else name)
        if not isinstance(obj, h5py.Dataset):
            raise FormatError(f"HDF5 file {self.path!r}: expected a dataset at "
                              f"{group_path}/{name}{_for(what)}, found a group.")
        return obj

    def check(self, group_path: str, name: str, shape: tuple, dtype: Any,
              what: str) -> h5py.Dataset:
        """The dataset, after checking it has ``shape`` and a dtype castable to ``dtype``."""
        dataset = self.dataset(group_path, name, what)
        if tuple(dataset.shape) != tuple(shape):
            raise ShapeError(
                f"Shape mismatch for {what}: HDF5 file {self.path!r} has {tuple(dataset.shape)} "
                f"(dataset {dataset.name!r}), model has {tuple(shape)}. Fix: build the model "
                f"with the architecture the file was saved from.")
        file_kind, want_kind = dataset.dtype.kind, np.dtype(dtype).kind
        if file_kind not in "biuf" or (file_kind == "f") != (want_kind == "f") or \
                (file_kind == "b") != (want_kind == "b"):
            raise DTypeError(
                f"Dtype mismatch for {what}: HDF5 file {self.path!r} has {dataset.dtype} "
                f"(dataset {dataset.name!r}), model has {np.dtype(dtype)}. Fix: load a file "
                f"saved from a model with the same variable dtypes.")
        if dataset.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS and \
                dataset.size and dataset.id.get_offset() is None:
            raise FormatError(f"HDF5 file {self.path!r}: dataset {dataset.name!r} for {what} "
                              f"has no data (the file is truncated or damaged).")
        return dataset

    def read_into(self, group_path: str, name: str, out: np.ndarray, what: str) -> None:
        """Check the dataset against ``out`` and read it straight into ``out``."""
        dataset = self.check(group_path, name, out.shape, out.dtype, what)
        try:
            if out.size == 0:
                return
            if out.ndim == 0:
                out[()] = dataset[()]
            else:
                dataset.read_direct(out)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise FormatError(f"HDF5 file {self.path!r} is damaged: reading dataset "
                              f"{dataset.name!r} for {what} failed ({exc}).") from None
        if self._trailer is not None:
            self._trailer.check_dataset(dataset.name, self._bytes, self.path,
                                        out if out.dtype == dataset.dtype else None)

    def verify_checksums(self) -> tuple[int, int] | None:
        """Check every dataset against the checksum trailer: ``(datasets, bytes)`` checked, or
        ``None`` for a file without one (tf.keras / Keras 3)."""
        if self._trailer is None:
            return None
        return len(self._trailer.datasets), self._trailer.verify_all(self._bytes, self.path)


    def read_array(self, group_path: str, name: str, what: str) -> np.ndarray:
        """A whole numeric dataset as a new array, for values with no preallocated target yet
        (capped: an uncompressed dataset may not claim more bytes than the file holds)."""
        dataset = self.dataset(group_path, name, what)
        if dataset.dtype.kind not in "biuf":
            raise DTypeError(f"HDF5 file {self.path!r}: dataset {dataset.name!r} for {what} "
                             f"has dtype {dataset.dtype}; expected numbers.")
        # Unwritten chunks read as the fill value and compression expands, so only the file's
        # size bounds what a dataset may claim: refused before anything is allocated.
        declared = dataset.size * dataset.dtype.itemsize
        limit = self._size() * (1 if dataset.compression is None else MAX_COMPRESSION_RATIO)
        if declared > limit:
            raise FormatError(f"HDF5 file {self.path!r}: dataset {dataset.name!r} for {what} "
                              f"claims shape {dataset.shape}, more bytes than the file holds "
                              f"(expected at most {limit} bytes from a {self._size()}-byte "
                              f"file, received {declared}). The file is damaged. Fix: re-save "
                              f"it or restore it from a backup.")
        out = np.empty(dataset.shape, dtype=dataset.dtype)
        self.read_into(group_path, name, out, what)
        return out


    def _size(self) -> int:
        if self._fileobj is None:
            return storage.file_size(self.path)
        return self._fileobj.seek(0, 2)  # h5py seeks before every read


def _names(value: Any, path: str, group_path: str, name: str) -> list[str]:
    array = np.asarray(value)
    if array.dtype.kind == "f" and array.size == 0:
        return []  # Keras 2 writes an empty list as np.asarray([])
    if array.ndim > 1 or array.dtype.kind not in "OSU":
        raise FormatError(f"HDF5 file {path!r}: attribute {name!r} of {group_path or '/'!r} "
                          f"should be a list of names, found {array.dtype} of shape "
                          f"{array.shape}.")
    out = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
           for v in array.reshape(-1).tolist()]
    _check_count(out, path, group_path, name)
    return out


def _check_count(names: list[str], path: str, group_path: str, name: str) -> None:
    if len(names) > MAX_NAMES or any(len(n) > MAX_NAME_LENGTH for n in names):
        raise FormatError(f"HDF5 file {path!r}: attribute {name!r} of {group_path or '/'!r} "
                          f"holds more than {MAX_NAMES} names or a name longer than "
                          f"{MAX_NAME_LENGTH} characters; refusing to read it.")


def _for(what: str) -> str:
    return f" (for {what})" if what else ""
