"""Every reader and writer fails with a ``SavepointError`` subclass, never a raw ``OSError``,
``OverflowError``, ``TypeError`` or ``KeyError``, whatever is at the path or whatever the disk does.

The tables drive each public entry point (``save_weights``/``load_weights`` for a TF prefix,
``.h5`` and ``.weights.h5``; ``model.save``/``load_model`` for ``.keras``, ``.h5`` and a model
directory; ``train.verify``, ``latest_checkpoint``, ``load_checkpoint``, ``Checkpoint.read``/
``write``, ``CheckpointManager``) through:

- a directory, or a FIFO, in place of each file a reader opens (a FIFO must never block);
- an I/O error (EACCES) on every read;
- a full disk (ENOSPC from ``fsync``, and from the first write into a file) and a read-only
  filesystem (EROFS from every create/rename) under every writer: ``StorageError``, with the
  previous files byte for byte as they were and no temporary left;
- oversize numbers, and a hostile ``inference/`` section of a model directory.

OS failures must be ``StorageError`` with the system's error chained as ``__cause__``.
"""

import errno
import json
import os
import signal
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import (ConfigError, FormatError, SavepointError, StorageError)
from savepoint.saving import storage
from savepoint.saving.handlers import fingerprint
from savepoint.exports import inference
from savepoint.saving.storage import direct, reading


# ----------------------------------------------------------------------------- helpers
def make_model():
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.train_on_batch(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"))
    return model


@pytest.fixture(autouse=True)
def _never_hang():
    """A reader that opens a FIFO blocking would wait forever: fail the test instead."""
    def timeout(*_):
        raise TimeoutError("the call blocked (a FIFO opened for reading?)")
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def files_under(directory) -> dict:
    """relative path -> bytes of every file (temporaries included: none may be left)."""
    found = {}
    for parent, _, names in os.walk(directory):
        for name in names:
            full = os.path.join(parent, name)
            with open(full, "rb") as f:
                found[os.path.relpath(full, directory)] = f.read()
    return found


def raises_savepoint_error(call: Callable, cls: type, match: str, cause: type | None):
    with pytest.raises(SavepointError, match=match) as info:
        call()
    assert isinstance(info.value, cls), f"{type(info.value).__name__}: {info.value}"
    if cause is not None:
        assert isinstance(info.value.__cause__, cause), repr(info.value.__cause__)
    return info.value


# ----------------------------------------------------------------------------- writers
def _manager(model, d):
    ckpt = keras.train.Checkpoint(model=model, optimizer=model.optimizer)
    return keras.train.CheckpointManager(ckpt, str(d), max_to_keep=2)


WRITERS = {
    "save_weights tf prefix": lambda m, d: m.save_weights(str(d / "cp.ckpt")),
    "save_weights .h5": lambda m, d: m.save_weights(str(d / "w.h5")),
    "save_weights .weights.h5": lambda m, d: m.save_weights(str(d / "w.weights.h5")),
    "model.save .keras": lambda m, d: m.save(str(d / "m.keras")),
    "model.save .h5": lambda m, d: m.save(str(d / "m.h5")),
    "model.save directory": lambda m, d: m.save(str(d / "my_model")),
    "Checkpoint.write": lambda m, d: keras.train.Checkpoint(model=m).write(str(d / "ck")),
    "CheckpointManager.save": lambda m, d: _manager(m, d).save(),
}


def _fail(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


class _NoSpaceFile:
    """A file on a full disk: every write raises ENOSPC."""

    def __init__(self, real):
        self.real = real

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()

    def __getattr__(self, name):
        return getattr(self.real, name)


# storage modules that create files with the built-in ``open`` (``direct`` opens temporaries)
_WRITING_MODULES = [storage, direct]


def full_disk_on_fsync(monkeypatch):
    monkeypatch.setattr(os, "fsync", _fail(errno.ENOSPC))


def full_disk_on_write(monkeypatch):
    def open_full(path, mode="r", *args, **kwargs):
        real = open(path, mode, *args, **kwargs)
        return real if "r" in mode else _NoSpaceFile(real)
    for module in _WRITING_MODULES:
        monkeypatch.setattr(module, "open", open_full, raising=False)
    full_disk_on_fsync(monkeypatch)  # h5py and zipfile write past ``open``: their fsync fails


def read_only_filesystem(monkeypatch):
    def open_read_only(path, mode="r", *args, **kwargs):
        if "r" not in mode:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return open(path, mode, *args, **kwargs)
    for module in _WRITING_MODULES:
        monkeypatch.setattr(module, "open", open_read_only, raising=False)
    for name in ("replace", "rename", "mkdir", "link", "makedirs"):
        monkeypatch.setattr(os, name, _fail(errno.EROFS))


FAULTS = {"ENOSPC on fsync": (full_disk_on_fsync, errno.ENOSPC, "No space left"),
          "ENOSPC on write": (full_disk_on_write, errno.ENOSPC, "No space left"),
          "EROFS": (read_only_filesystem, errno.EROFS, "Read-only file system")}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failing_disk_is_a_storage_error_and_leaves_the_previous_files(tmp_path, monkeypatch,
                                                                         writer, fault):
    model = make_model()
    WRITERS[writer](model, tmp_path)
    before = files_under(tmp_path)
    model.layers[0].set_weights([np.full((3, 4), 7.0, "float32"), np.ones(4, "float32")])
    inject, code, reason = FAULTS[fault]
    inject(monkeypatch)
    error = raises_savepoint_error(lambda: WRITERS[writer](model, tmp_path), StorageError,
                                   f"Could not write .*{reason}", OSError)
    monkeypatch.undo()
    assert error.errno == code and error.__cause__.errno == code
    assert files_under(tmp_path) == before


# (writer, path to put a directory at) -> the error
DIRECTORY_IN_THE_WAY = [
    ("save_weights tf prefix", "cp.ckpt.index", StorageError, "Could not write .*Is a directory"),
    ("save_weights tf prefix", "checkpoint", StorageError, "Could not write .*Is a directory"),
    ("save_weights .h5", "w.h5", StorageError, "Could not write .*Is a directory"),
    ("save_weights .weights.h5", "w.weights.h5", StorageError, "Could not write .*directory"),
    ("model.save .h5", "m.h5", StorageError, "Could not write .*Is a directory"),
    ("Checkpoint.write", "ck.index", StorageError, "Could not write .*Is a directory"),
    ("CheckpointManager.save", "checkpoint", FormatError, "Expected a regular file .*directory"),
]


@pytest.mark.parametrize("writer,name,cls,match", DIRECTORY_IN_THE_WAY)
def test_a_directory_where_a_writer_writes_a_file(tmp_path, writer, name, cls, match):
    model = make_model()
    os.mkdir(tmp_path / name)
    (tmp_path / name / "keep").write_bytes(b"mine")
    raises_savepoint_error(lambda: WRITERS[writer](model, tmp_path), cls, match, OSError)
    assert (tmp_path / name / "keep").read_bytes() == b"mine"


# ----------------------------------------------------------------------------- readers
def _saved(kind: str, d) -> None:
    model = make_model()
    if kind == "prefix":
        model.save_weights(str(d / "cp.ckpt"))
    elif kind in ("w.h5", "w.weights.h5"):
        model.save_weights(str(d / kind))
    else:
        model.save(str(d / kind))


@dataclass
class Reader:
    kind: str                          # what to save first: "prefix", "my_model", "m.keras" ...
    call: Callable                     # (tmp_path) -> reads


def _read_ckpt(d):
    return keras.train.Checkpoint(model=make_model()).read(str(d / "cp.ckpt"))


def _tensors(d):
    with keras.train.load_checkpoint(str(d / "cp.ckpt")) as reader:
        return [reader.get_tensor(k) for k in reader.get_variable_to_shape_map()]


READERS = {
    "load_weights prefix": Reader("prefix", lambda d: make_model().load_weights(
        str(d / "cp.ckpt"))),
    "load_weights directory": Reader("prefix", lambda d: make_model().load_weights(str(d))),
    "verify prefix": Reader("prefix", lambda d: keras.train.verify(str(d / "cp.ckpt"))),
    "verify checkpoint directory": Reader("prefix", lambda d: keras.train.verify(str(d))),
    "load_checkpoint": Reader("prefix", _tensors),
    "latest_checkpoint": Reader("prefix", lambda d: keras.train.latest_checkpoint(str(d))),
    "Checkpoint.read": Reader("prefix", _read_ckpt),
    "CheckpointManager": Reader("prefix", lambda d: _manager(make_model(), d)),
    "load_weights .h5": Reader("w.h5", lambda d: make_model().load_weights(str(d / "w.h5"))),
    "verify .h5 weights": Reader("w.h5", lambda d: keras.train.verify(str(d / "w.h5"))),
    "load_weights .weights.h5": Reader("w.weights.h5", lambda d: make_model().load_weights(
        str(d / "w.weights.h5"))),
    "load_model .h5": Reader("m.h5", lambda d: keras.models.load_model(str(d / "m.h5"))),
    "verify .h5 model": Reader("m.h5", lambda d: keras.train.verify(str(d / "m.h5"))),
    "load_model .keras": Reader("m.keras", lambda d: keras.models.load_model(
        str(d / "m.keras"))),
    "verify .keras": Reader("m.keras", lambda d: keras.train.verify(str(d / "m.keras"))),
    "load_model directory": Reader("my_model", lambda d: keras.models.load_model(
        str(d / "my_model"))),
    "verify model directory": Reader("my_model", lambda d: keras.train.verify(
        str(d / "my_model"))),
}

# reader -> the files it opens that the tables replace
OPENED = {
    "load_weights prefix": ["cp.ckpt.index", "cp.ckpt.data-00000-of-00001"],
    "load_weights directory": ["checkpoint"],
    "verify prefix": ["cp.ckpt.index", "cp.ckpt.data-00000-of-00001"],
    "verify checkpoint directory": ["checkpoint"],
    "load_checkpoint": ["cp.ckpt.index", "cp.ckpt.data-00000-of-00001"],
    "latest_checkpoint": ["checkpoint"],
    "Checkpoint.read": ["cp.ckpt.index", "cp.ckpt.data-00000-of-00001"],
    "CheckpointManager": ["checkpoint"],
    "load_weights .h5": ["w.h5"],
    "verify .h5 weights": ["w.h5"],
    "load_weights .weights.h5": ["w.weights.h5"],
    "load_model .h5": ["m.h5"],
    "verify .h5 model": ["m.h5"],
    "load_model .keras": ["m.keras"],
    "verify .keras": ["m.keras"],
    "load_model directory": ["my_model/fingerprint.json", "my_model/saved_model.json",
                             "my_model/variables/variables.index"],
    "verify model directory": ["my_model/fingerprint.json", "my_model/saved_model.json",
                               "my_model/variables/variables.index"],
}
SLOTS = [(reader, name) for reader in sorted(OPENED) for name in OPENED[reader]]


def _replace(path, make) -> None:
    os.remove(path)
    make(path)


@pytest.mark.parametrize("reader,name", SLOTS)
def test_a_directory_in_place_of_a_file(tmp_path, reader, name):
    _saved(READERS[reader].kind, tmp_path)
    _replace(tmp_path / name, os.mkdir)
    # "incomplete": the model directory's fingerprint check finds a file missing first
    raises_savepoint_error(lambda: READERS[reader].call(tmp_path), FormatError,
                           r"(Expected a (regular )?file at .* Received a directory|incomplete)",
                           None)


@pytest.mark.parametrize("reader,name", SLOTS)
def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(tmp_path, reader, name):
    _saved(READERS[reader].kind, tmp_path)
    _replace(tmp_path / name, os.mkfifo)
    raises_savepoint_error(lambda: READERS[reader].call(tmp_path), FormatError,
                           r"Expected a regular file at .*Received a FIFO", None)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_io_error_on_read_is_a_storage_error(tmp_path, monkeypatch, reader):
    _saved(READERS[reader].kind, tmp_path)
    real_open = open

    def denied(path, mode="r", *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, mode, *args, **kwargs)
    monkeypatch.setattr(reading, "open", denied, raising=False)
    error = raises_savepoint_error(lambda: READERS[reader].call(tmp_path), StorageError,
                                   "Could not read .*Permission denied", OSError)
    assert error.errno == errno.EACCES


def test_a_directory_in_place_of_reading_helpers_is_refused_with_the_os_error_chained(tmp_path):
    os.mkdir(tmp_path / "x")
    for read in (storage.read_bytes, storage.open_read, storage.map_file):
        raises_savepoint_error(lambda: read(str(tmp_path / "x")), FormatError,
                               r"Expected a regular file .* Received a directory",
                               IsADirectoryError)
    raises_savepoint_error(lambda: storage.file_size(str(tmp_path / "x")), FormatError,
                           r"Received a directory", None)


# ----------------------------------------------------------------------------- oversize numbers
def test_a_state_file_naming_a_checkpoint_number_beyond_int64(tmp_path):
    model = make_model()
    huge = "ckpt-9999999999999999999999"
    keras.train.Checkpoint(model=model, optimizer=model.optimizer).write(str(tmp_path / huge))
    (tmp_path / "checkpoint").write_text(f'model_checkpoint_path: "{huge}"\n'
                                         f'all_model_checkpoint_paths: "{huge}"\n')
    before = files_under(tmp_path)
    raises_savepoint_error(lambda: _manager(model, tmp_path).save(), FormatError,
                           "checkpoint number 9999999999999999999999", OverflowError)
    assert files_under(tmp_path) == before


def test_a_config_with_an_absurd_layer_size_fails_before_allocating(tmp_path):
    model = make_model()
    model.save(str(tmp_path / "m.keras"))
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][-1]["config"]["units"] = 10 ** 12
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    raises_savepoint_error(lambda: keras.models.load_model(str(tmp_path / "m.keras")),
                           SavepointError, "units", None)


# ----------------------------------------------------------------------------- inference/
def _model_dir_without_its_class(tmp_path, edit: Callable[[dict], None]) -> str:
    """A saved model directory whose class cannot be resolved (so load_model falls back on the
    inference program) with ``edit`` applied to saved_model.json and a recomputed fingerprint
    (anyone can recompute it: it is an integrity check, not a signature)."""
    path = str(tmp_path / "my_model")
    make_model().save(path)
    meta_path = os.path.join(path, "saved_model.json")
    meta = json.loads(storage.read_text(meta_path))
    meta["model_config"]["class_name"] = meta["model_config"]["registered_name"] = "NoSuchModel"
    edit(meta)
    storage.replace_text_atomically(meta_path, json.dumps(meta))
    fingerprint.write_fingerprint(path)
    return path


def _set(key, value):
    def edit(meta):
        meta["inference"][key] = value
    return edit


def _set_tensor_entry(value):
    def edit(meta):
        tensors = meta["inference"]["tensors"]
        tensors[sorted(tensors)[0]] = value
    return edit


HOSTILE_INFERENCE = {
    "not an object": (lambda meta: meta.__setitem__("inference", "yes"), "the section"),
    "tensors not a map": (_set("tensors", 5), "tensors"),
    "tensor entry not a map": (_set_tensor_entry(7), "tensors"),
    "tensor entry without key": (_set_tensor_entry({"source": "variables", "kind": "state"}),
                                 "tensors"),
    "tensor key not a string": (_set_tensor_entry({"source": "variables", "kind": "state",
                                                   "key": ["x"]}), "tensors"),
    "no inputs": (lambda meta: meta["inference"].pop("inputs"), "inputs"),
    "inputs not a list": (_set("inputs", {"a": 1}), "inputs"),
    "input without dtype": (_set("inputs", [{"name": "x", "shape": [None, 3]}]), "inputs"),
    "unknown dtype": (_set("inputs", [{"name": "x", "shape": [None, 3], "dtype": "__class__"}]),
                      "inputs"),
    "shape not a list": (_set("inputs", [{"name": "x", "shape": 3, "dtype": "float32"}]),
                         "inputs"),
    "bad structure": (_set("structure", {"keys": 5}), "structure"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_INFERENCE))
def test_a_hostile_inference_section_is_a_format_error(tmp_path, case):
    edit, field = HOSTILE_INFERENCE[case]
    path = _model_dir_without_its_class(tmp_path, edit)
    raises_savepoint_error(lambda: keras.models.load_model(path), FormatError,
                           f"'inference' section .* is damaged: expected .*{field}", None)


@pytest.mark.parametrize("target", ["torch.ops.aten.__setattr__.__call__",
                                    "torch.ops.aten.add.__call__",
                                    "torch.ops.aten.__class__.default",
                                    "torch.ops.prims._private._x"])
def test_the_program_check_refuses_private_attribute_chains(target):
    doc = {"graph_module": {"graph": {"nodes": [{"target": target, "inputs": []}]}}}
    with pytest.raises(FormatError, match="contains a call of"):
        inference.check_program(doc, "program.json")


def test_the_program_check_keeps_underscored_aten_operators():
    doc = {"graph_module": {"graph": {"nodes": [{"target": "torch.ops.aten._to_copy.default"}]}}}
    inference.check_program(doc, "program.json")


def test_a_dunder_call_in_a_saved_program_is_refused_by_the_check(tmp_path):
    path = _model_dir_without_its_class(tmp_path, lambda meta: None)
    program_path = os.path.join(path, inference.PROGRAM_FILE)
    text = storage.read_text(program_path)
    assert "torch.ops.aten.addmm.default" in text or "torch.ops.aten.linear.default" in text
    text = text.replace("torch.ops.aten.addmm.default", "torch.ops.aten.__setattr__.__call__")
    text = text.replace("torch.ops.aten.linear.default", "torch.ops.aten.__setattr__.__call__")
    storage.replace_text_atomically(program_path, text)
    fingerprint.write_fingerprint(path)
    with pytest.warns(UserWarning, match="inference-only"):
        raises_savepoint_error(lambda: keras.models.load_model(path), FormatError,
                               "contains a call of 'torch.ops.aten.__setattr__.__call__'", None)


def test_config_error_is_still_a_savepoint_error():
    assert issubclass(ConfigError, SavepointError) and issubclass(StorageError, OSError)
