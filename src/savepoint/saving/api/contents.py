"""What a save holds, read without building a model: every stored tensor (name, shape, dtype,
bytes), one tensor's value, and a SavedModel's serving signatures (``savepoint inspect``).

Every format the registry reads is covered: a TensorFlow checkpoint prefix (or a directory whose
state file names one), ``.h5`` / ``.weights.h5`` / ``.safetensors`` weights, ``.keras`` and ``.h5``
whole models, savepoint's model directory and a SavedModel tf.keras wrote. Names are the file's
own (checkpoint keys, HDF5 dataset paths, safetensors keys), as TensorFlow's
``inspect_checkpoint`` and ``h5ls`` show them. The format comes from ``registry.detect``.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5"); m.save_weights(path)
    >>> [(v.name, v.shape, v.dtype, v.nbytes) for v in list_variables(path)]
    [('layers/dense/vars/0', (3, 2), 'float32', 24), ('layers/dense/vars/1', (2,), 'float32', 8)]
    >>> read_variable(path, "layers/dense/vars/1")
    array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import h5py
import numpy as np

from savepoint.errors import CheckpointNotFoundError, ConfigError, FormatError
from savepoint.saving import registry, storage
from savepoint.saving.formats import keras_zip, safetensors
from savepoint.saving.formats.h5 import H5Reader
from savepoint.saving.formats.saved_model import saved_model_pb
from savepoint.saving.formats.tf_checkpoint import layout, state_file
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

VARIABLES = "variables/variables"   # the bundle inside a model directory or SavedModel
OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"
H5_FORMATS = ("h5_weights", "keras_weights_h5", "h5")  # Keras 2 weights and models, Keras 3
TORCH_WEIGHTS, TORCH_META = "weights.safetensors", "export.json"  # model.export(format="torch")


@dataclass(frozen=True)
class VariableInfo:
    """One stored tensor: its ``name`` in the file, ``shape``, ``dtype`` name and payload
    ``nbytes``.

    Example:
        >>> VariableInfo("dense/kernel", (3, 2), "float32", 24).nbytes
        24
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass(frozen=True)
class SignatureInfo:
    """One serving signature of a SavedModel: ``inputs``/``outputs`` map a key to
    ``(dtype, shape)`` (shape None: unknown rank; -1: unknown dimension).

    Example:
        >>> SignatureInfo("serving_default", "", {"x": ("float32", [-1, 3])}, {}).inputs["x"]
        ('float32', [-1, 3])
    """

    name: str
    method: str
    inputs: dict[str, tuple[str, list[int] | None]]
    outputs: dict[str, tuple[str, list[int] | None]]


@dataclass(frozen=True)
class SaveContents:
    """What :func:`describe` found at ``path``: the registry ``format`` and its ``kind``, the
    ``source`` actually read (a checkpoint directory's latest prefix), the ``variables`` and,
    for a SavedModel, its ``signatures``.

    Example:
        >>> SaveContents("w.h5", "h5_weights", "weights", "w.h5",
        ...              [VariableInfo("a", (2,), "float32", 8)]).total_bytes
        8
    """

    path: str
    format: str
    kind: str
    source: str
    variables: list[VariableInfo]
    signatures: list[SignatureInfo] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """The payload bytes of every variable."""
        return sum(v.nbytes for v in self.variables)


# ----- the save's format --------------------------------------------------------------------
def find_format(path: str) -> registry.FormatSpec:
    """The registry's format of the save at ``path``; ``CheckpointNotFoundError`` when nothing is
    there, ``FormatError`` when no format recognizes what is.

    Example:
        >>> find_format("/nonexistent/cp.ckpt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: Expected a save at '/nonexistent/cp.ckpt' ...
    """
    path = os.fspath(path)
    spec = registry.detect(path)
    if spec is not None:
        return spec
    claimed = registry.for_suffix(path)
    if claimed is not None and storage.exists(path) and not storage.isdir(path):
        return claimed  # a damaged file: its format's reader words what is wrong
    if storage.exists(path):
        raise FormatError(f"Expected a save savepoint reads at {path!r} (a checkpoint prefix or "
                          f"directory, a model directory or SavedModel, '.h5', '.weights.h5', "
                          f"'.keras' or '.safetensors'). Received something no format "
                          f"recognizes. Fix: pass the save's own path (a checkpoint prefix "
                          f"without '.index').")
    raise CheckpointNotFoundError(
        f"Expected a save at {path!r} (a checkpoint prefix or directory, a model directory or "
        f"SavedModel, '.h5', '.weights.h5', '.keras' or '.safetensors'). Received a path that "
        f"does not exist. Fix: check the path.")


def checkpoint_prefix(path: str) -> str:
    """A checkpoint prefix as given, or the latest prefix a directory's state file names.

    Example:
        >>> checkpoint_prefix("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    if storage.exists(layout.index_path(path)):
        return path
    return state_file.resolve_latest(path)


# ----- readers: name -> info / value, one per byte format ----------------------------------
class _Bundle:
    def __init__(self, prefix: str):
        self.reader = BundleReader(prefix)
        self.where = prefix

    def infos(self) -> list[VariableInfo]:
        dtypes = self.reader.get_variable_to_dtype_map()
        return [VariableInfo(n, tuple(self.reader.entry(n).shape or ()), dtypes[n],
                             int(self.reader.entry(n).size)) for n in sorted(self.reader.keys())]

    def read(self, name: str) -> Any:
        return self.reader.get_tensor(name)  # its crc32c checked

    def close(self) -> None:
        self.reader.close()


class _H5:
    def __init__(self, path: str, fileobj: Any = None, where: str | None = None):
        self.reader = H5Reader(path, fileobj) if fileobj is not None else H5Reader(path)
        self.reader.path = self.where = where or path

    def infos(self) -> list[VariableInfo]:
        found: list[VariableInfo] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                found.append(VariableInfo(name, tuple(int(d) for d in obj.shape),
                                          str(obj.dtype), int(obj.size) * obj.dtype.itemsize))
        try:
            self.reader.group("").visititems(visit)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise FormatError(f"HDF5 file {self.where!r} is damaged: walking its groups "
                              f"failed ({exc}). Fix: restore the file from a good copy.") from None
        return sorted(found, key=lambda v: v.name)

    def read(self, name: str) -> Any:
        group, _, leaf = name.rpartition("/")
        return self.reader.read_array(group, leaf, f"dataset {name!r}")

    def close(self) -> None:
        self.reader.close()


class _Safetensors:
    def __init__(self, path: str):
        self.arrays, _ = safetensors.read(path)  # every CRC-32C checked
        self.where = path

    def infos(self) -> list[VariableInfo]:
        return [VariableInfo(n, tuple(a.shape), str(a.dtype), _nbytes(a))
                for n, a in sorted(self.arrays.items())]

    def read(self, name: str) -> Any:
        return self.arrays[name]

    def close(self) -> None:
        self.arrays = {}


def _nbytes(array: Any) -> int:
    return int((array.bits if isinstance(array, BFloat16Array) else np.asarray(array)).nbytes)


@contextlib.contextmanager
def open_save(path: str) -> Iterator[tuple[registry.FormatSpec, str, Any]]:
    """``(format, source read, reader)`` of the save at ``path``; the reader has ``infos()``,
    ``read(name)`` and ``where``, and is closed on exit.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from savepoint.saving.formats.tf_checkpoint import write_bundle
        >>> prefix = os.path.join(tempfile.mkdtemp(), "cp.ckpt")
        >>> write_bundle(prefix, {"w": np.ones(3, np.float32)})
        >>> with open_save(prefix) as (spec, source, reader):
        ...     spec.name, reader.read("w")
        ('tf_checkpoint', array([1., 1., 1.], dtype=float32))
    """
    path = os.fspath(path)
    spec = find_format(path)
    with contextlib.ExitStack() as stack:
        if spec.name == "tf_checkpoint":
            source = checkpoint_prefix(path)
            reader: Any = _Bundle(source)
        elif spec.name in ("model_directory", "tf_saved_model"):
            source = os.path.join(path, VARIABLES)
            reader = _Bundle(source)
        elif spec.name == "safetensors":
            source, reader = path, _Safetensors(path)
        elif spec.name == "torch_export":  # model.export(format="torch"): its program's tensors
            source = os.path.join(path, TORCH_WEIGHTS)
            reader = _Safetensors(source)
        elif spec.name == "keras":
            archive = stack.enter_context(keras_zip.KerasArchive(path))
            weights = archive.open_weights()
            source = f"{path}/{keras_zip.WEIGHTS}"
            reader = _H5(weights) if isinstance(weights, str) else \
                _H5(source, fileobj=weights, where=source)
            reader.where = source
        elif spec.name in H5_FORMATS:
            source, reader = path, _H5(path)
        else:
            raise ConfigError(f"Expected a format whose tensors savepoint.saving.api.contents "
                              f"reads. Received {spec.name!r} at {path!r}. Fix: add its reader "
                              f"to contents.open_save when registering the format.")
        stack.callback(reader.close)
        yield spec, source, reader


# ----- the public calls ---------------------------------------------------------------------
def describe(path: str) -> SaveContents:
    """Every variable of the save at ``path`` (and a SavedModel's serving signatures).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors"); m.save_weights(path)
        >>> found = describe(path); found.format, len(found.variables), found.total_bytes
        ('safetensors', 2, 32)
    """
    path = os.fspath(path)
    with open_save(path) as (spec, source, reader):
        variables = reader.infos()
    return SaveContents(path, spec.name, spec.kind, source, variables, signatures(path, spec))


def list_variables(path: str) -> list[VariableInfo]:
    """The variables of the save at ``path``, sorted by name (see :func:`describe`).

    Example:
        >>> list_variables("/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    return describe(path).variables


def read_variable(path: str, name: str) -> Any:
    """The value of tensor ``name`` of the save at ``path`` (its checksum checked): a numpy
    array, ``bytes`` for a string scalar, a ``BFloat16Array`` for bfloat16.

    Example:
        >>> read_variable("/nonexistent/cp.ckpt", "w")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    with open_save(path) as (_, source, reader):
        names = [v.name for v in reader.infos()]
        if name not in names:
            close = [n for n in names if name.split("/")[-1] in n][:5] or names[:5]
            raise ConfigError(f"Expected the name of a tensor stored in {source!r}. Received "
                              f"{name!r}, which it does not hold ({len(names)} tensors, e.g. "
                              f"{close}). Fix: pick a name `savepoint inspect {path}` lists.")
        return reader.read(name)


def read_all(path: str) -> tuple[registry.FormatSpec, dict[str, Any]]:
    """The format and every tensor (name -> value) of the save at ``path``.

    Example:
        >>> read_all("/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    with open_save(path) as (spec, _, reader):
        return spec, {v.name: reader.read(v.name) for v in reader.infos()}


def signatures(path: str, spec: registry.FormatSpec | None = None) -> list[SignatureInfo]:
    """The serving signatures of the SavedModel at ``path`` (savepoint's model directory holds
    one too), or the inputs and outputs ``export.json`` records for a ``model.export(...,
    format="torch")`` directory; ``[]`` for every other save.

    Example:
        >>> signatures("/nonexistent/w.h5")
        []
    """
    path = os.fspath(path)
    spec = spec or registry.detect(path)
    if spec is not None and spec.name == "torch_export":
        return [_torch_signature(path)]
    pb = os.path.join(path, saved_model_pb.FILE_NAME)
    if spec is None or spec.name not in ("model_directory", "tf_saved_model") or \
            not storage.exists(pb):
        return []
    found = []
    for sig in saved_model_pb.read_saved_model(pb).signatures():
        if sig.name.startswith("__"):  # the init op, not a serving signature
            continue
        found.append(SignatureInfo(
            sig.name, sig.method_name,
            {k: (v.dtype, v.shape) for k, v in sorted(sig.inputs.items())},
            {k: (v.dtype, v.shape) for k, v in sorted(sig.outputs.items())}))
    return found


def _torch_signature(path: str) -> SignatureInfo:
    where = os.path.join(path, TORCH_META)
    try:
        meta = json.loads(storage.read_bytes(where))
        inputs = {i["name"]: (i["dtype"], [-1 if d is None else d for d in i["shape"]])
                  for i in meta["inputs"]}
        outputs = {str(name): ("?", None) for name in meta["outputs"]}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise FormatError(f"Expected the export metadata in {where!r}. Received unreadable "
                          f"JSON ({e}). Fix: export the model again.") from None
    return SignatureInfo("forward", "torch.export", inputs, outputs)


def as_numpy(value: Any) -> Any:
    """A stored value as numpy shows it: bfloat16 widened to float32, strings as ``bytes``.

    Example:
        >>> as_numpy(BFloat16Array(np.array([16256], np.uint16)))
        array([1.], dtype=float32)
    """
    if isinstance(value, BFloat16Array):
        return value.to_float32()
    if isinstance(value, (bytes, str)):
        return value
    return np.asarray(value)


def dtype_name(value: Any) -> str:
    """The dtype name of a stored value: ``"bfloat16"``, ``"string"`` or numpy's name.

    Example:
        >>> dtype_name(BFloat16Array(np.zeros(2, np.uint16))), dtype_name(b"x")
        ('bfloat16', 'string')
    """
    if isinstance(value, BFloat16Array):
        return "bfloat16"
    if isinstance(value, (bytes, str)):
        return "string"
    return str(np.asarray(value).dtype)


def raw_bits(value: Any) -> Any:
    """A stored value reduced to what bit-for-bit equality compares (bfloat16: its bits).

    Example:
        >>> raw_bits(BFloat16Array(np.array([16256], np.uint16))).dtype
        dtype('uint16')
    """
    return value.bits if isinstance(value, BFloat16Array) else value


__all__ = ["OBJECT_GRAPH", "BFloat16Array", "SaveContents", "SignatureInfo", "VariableInfo",
           "as_numpy", "checkpoint_prefix", "describe", "dtype_name", "find_format", "list_variables", "open_save",
           "raw_bits", "read_all", "read_variable", "signatures"]
