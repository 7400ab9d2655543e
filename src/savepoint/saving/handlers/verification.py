"""How each format is checked without loading it (the formats' ``verify`` in the registry).

Every checksum and structural invariant a load would check is checked here, with the same
``SavepointError`` subclasses, but no model is built and nothing is assigned: tensor bundles
(index table block CRCs, every entry, every tensor's crc32c, the object graph), checkpoint
state files, model directories (``fingerprint.json`` over every file, ``saved_model.json``, the
variables bundle, the inference program's JSON), HDF5 files (the checksum trailer savepoint
writes and every dataset read back; tf.keras / Keras 3 files: every dataset read) and ``.keras``
archives (every member's CRC-32, the JSON members, the inner weights file as HDF5). An HDF5
file that would read another file (external link, virtual dataset, external raw storage) or holds
a soft link fails with the ``FormatError`` a load raises (see ``formats/h5_isolation.py``).

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.tf_checkpoint import write_bundle
    >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
    >>> write_bundle(prefix, {"w": np.ones(3, np.float32)})
    >>> report = verify_checkpoint(prefix)
    >>> report.format, report.n_tensors, report.bytes_checked
    ('tf_checkpoint', 1, 12)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import h5py
import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats import keras_zip
from savepoint.saving.formats.h5 import H5Reader
from savepoint.saving.formats.tf_checkpoint import layout, object_graph, rewrite, state_file
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` checked: ``path`` (the file, prefix or directory actually checked),
    ``format`` (``"tf_checkpoint"``, ``"model_directory"``, ``"h5"``, ``"keras"``),
    ``n_tensors`` (tensors / datasets read) and ``bytes_checked`` (their payload bytes).

    Example:
        >>> VerifyReport("m.keras", "keras", 2, 64).n_tensors
        2
    """

    path: str
    format: str
    n_tensors: int
    bytes_checked: int


def verify_checkpoint(path: str) -> VerifyReport:
    """A checkpoint prefix, or a directory whose state file names the checkpoint.

    Example:
        >>> verify_checkpoint("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    if storage.exists(layout.index_path(path)):
        return _verify_bundle(path)
    return _verify_bundle(state_file.resolve_latest(path))


def verify_h5(path: str) -> VerifyReport:
    """A Keras 2 ``.h5`` model or weights file, or a Keras 3 ``.weights.h5`` file.

    Example:
        >>> verify_h5("/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    return _verify_h5(path, path, None, "h5")


def verify_keras(path: str) -> VerifyReport:
    """A Keras 3 ``.keras`` archive.

    Example:
        >>> verify_keras("/nonexistent/m.keras")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    return _verify_keras(path)


def verify_model_dir(path: str) -> VerifyReport:
    """A savepoint model directory.

    Example:
        >>> verify_model_dir("/nonexistent/my_model")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.FormatError: ...
    """
    return _verify_model_dir(path)


def _verify_bundle(prefix: str, fmt: str = "tf_checkpoint") -> VerifyReport:
    """The bundle at ``prefix``, or the staged copy a load of it falls back to (``rewrite``);
    the report's ``path`` says which was checked."""
    return rewrite.read_whole(prefix, lambda path: _verify_bundle_files(path, fmt))


def _verify_bundle_files(prefix: str, fmt: str) -> VerifyReport:
    n, total = 0, 0
    with BundleReader(prefix) as reader:
        for name in reader.keys():
            value = reader.get_tensor(name)  # checks the tensor's crc32c
            n += 1
            total += reader.entry(name).size
            if name == _GRAPH_KEY:
                try:
                    object_graph.decode_object_graph(_as_bytes(value, reader.index_file))
                except FormatError as e:
                    raise FormatError(f"Checkpoint {reader.index_file!r}: {e}") from None
    return VerifyReport(prefix, fmt, n, total)


def _as_bytes(value: object, where: str) -> bytes:
    if isinstance(value, bytes):
        return value
    raise FormatError(f"Checkpoint {where!r}: expected {_GRAPH_KEY} to be a scalar string, "
                      f"received {type(value).__name__}.")


def _verify_model_dir(path: str) -> VerifyReport:
    from savepoint.exports import inference
    from savepoint.saving.handlers import model_dir
    model_dir.read_meta(path)  # fingerprint.json over every file, then saved_model.json
    report = _verify_bundle(os.path.join(path, model_dir.VARIABLES))
    program = os.path.join(path, inference.PROGRAM_FILE)
    if storage.exists(program):
        _json_object(program, storage.read_bytes(program))
    return VerifyReport(path, "model_directory", report.n_tensors, report.bytes_checked)


def _json_object(where: str, data: bytes) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(f"Expected JSON in {where!r}. Received unreadable text ({e}). Fix: "
                          f"re-save the model.") from None
    if not isinstance(value, dict):
        raise FormatError(f"Expected a JSON object in {where!r}. Received "
                          f"{type(value).__name__}. Fix: re-save the model.")
    return value


def _verify_keras(path: str) -> VerifyReport:
    with keras_zip.KerasArchive(path) as archive:  # CRC and JSON of metadata/config checked
        for name in archive.asset_names:
            archive.read_asset(name)
        weights = archive.open_weights()
        where = f"{path}/{keras_zip.WEIGHTS}"
        if isinstance(weights, str):
            report = _verify_h5(weights, where, None, "keras")
        else:
            report = _verify_h5(where, where, weights, "keras")
    return VerifyReport(path, "keras", report.n_tensors, report.bytes_checked)


def _verify_h5(path: str, where: str, fileobj: object, fmt: str) -> VerifyReport:
    reader = H5Reader(path, fileobj) if fileobj is not None else H5Reader(path)
    reader.path = where
    with reader:
        reader.verify_checksums()
        datasets = _walk(reader)
        n, total = 0, 0
        for name in datasets:
            group, _, leaf = name.rpartition("/")
            array = reader.read_array(group, leaf, f"dataset {name!r}")
            n, total = n + 1, total + array.nbytes
        for attr in ("model_config", "training_config"):
            value = reader.attr("", attr)
            if value is not None:
                _json_object(f"{where} (attribute {attr!r})",
                             value.encode("utf-8") if isinstance(value, str) else bytes(value))
    return VerifyReport(where, fmt, n, total)


def _walk(reader: H5Reader) -> list[str]:
    """Every dataset path; every attribute read once (damaged ones raise ``FormatError``)."""
    found: list[str] = []

    def visit(name: str, obj: object) -> None:
        for key in obj.attrs:
            np.asarray(obj.attrs[key])
        if isinstance(obj, h5py.Dataset):
            found.append(name)

    try:
        root = reader.group("")
        for key in root.attrs:
            np.asarray(root.attrs[key])
        root.visititems(visit)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise FormatError(f"HDF5 file {reader.path!r} is damaged: walking its groups and "
                          f"attributes failed ({exc}).") from None
    return found
