"""Hostile files: every reader, fed fuzzed and mutated input, fails only with a SavepointError.

Covered: the index table, the BundleHeader / BundleEntry / TrackableObjectGraph decoders, the
checkpoint state file parser, HDF5 files (byte-mutated, and valid HDF5 carrying hostile
attributes and configs), ``.keras`` archives (byte-mutated, crafted member names and declared
sizes) and the JSON configs (``saved_model.json``, ``config.json``, ``model_config``). Also: a
header claiming a 1e15-byte tensor fails fast without allocating, no path escapes its directory,
no configuration runs code. ``-m slow`` runs many more examples.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import savepoint as keras
from savepoint.errors import SavepointError
from savepoint.saving import storage
from savepoint.saving.handlers import fingerprint
from savepoint.saving.formats import keras_zip
from savepoint.saving.formats.tf_checkpoint import (object_graph, proto, state_file, table,
                                                    write_bundle)
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
MODELS = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # each example builds models
SLOW = settings(max_examples=3000, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
PWNED: list[str] = []


def pwned(*args: object, **kwargs: object) -> None:
    """A function a hostile config names: loading must never call it."""
    PWNED.append("called")


def _model() -> keras.Model:
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), np.float32), np.ones((4, 2), np.float32), epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    keras.backend.clear_session()
    root = str(tmp_path_factory.mktemp("valid"))
    model = _model()
    model.save_weights(os.path.join(root, "cp.ckpt"))
    model.save(os.path.join(root, "m.h5"))
    model.save(os.path.join(root, "m.keras"))
    return {name: storage.read_bytes(os.path.join(root, name))
            for name in ("cp.ckpt.index", "m.h5", "m.keras")}


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:len(out) - cut % (len(out) // 4 + 1)])


MUTATIONS = st.tuples(st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)),
                               min_size=1, max_size=8), st.integers(0, 1 << 30))


def _only_savepoint_errors(call, *args: object) -> None:
    try:
        call(*args)
    except SavepointError:
        pass


# --------------------------------------------------------------------------- binary decoders
def _decoders(data: bytes) -> None:
    for decode in (lambda b: table.read_table(b, "fuzz.index"),
                   lambda b: proto.decode_header(b, "fuzz"),
                   lambda b: proto.decode_entry(b, "fuzz"),
                   object_graph.decode_object_graph):
        _only_savepoint_errors(decode, data)


@FAST
@given(st.binary(max_size=400))
def test_binary_decoders_on_random_bytes(data: bytes) -> None:
    _decoders(data)


@FAST
@given(MUTATIONS)
def test_index_table_and_entries_on_mutated_index(files: dict, mutation: tuple) -> None:
    data = _mutate(files["cp.ckpt.index"], *mutation)
    _only_savepoint_errors(table.read_table, data, "cp.ckpt.index")
    try:
        rows = table.read_table(data, "cp.ckpt.index")
    except SavepointError:
        return
    for key, value in rows:
        _decoders(value)


@pytest.mark.slow
@SLOW
@given(st.binary(max_size=2000), MUTATIONS)
def test_binary_decoders_long(files: dict, data: bytes, mutation: tuple) -> None:
    _decoders(data)
    _decoders(_mutate(files["cp.ckpt.index"], *mutation))


# --------------------------------------------------------------------------- state file
STATE = 'model_checkpoint_path: "cp-2"\nall_model_checkpoint_paths: "cp-1"\n' \
        'all_model_checkpoint_paths: ["cp-2"]\nall_model_checkpoint_timestamps: 1.5e9\n'


@FAST
@given(st.one_of(st.text(max_size=200),
                 st.lists(st.sampled_from(['"', "'", "\\", "[", "]", ":", ",", "#", "\n",
                                           "model_checkpoint_path", "1e999", "nan", "\\x",
                                           "\\777", "all_model_checkpoint_paths", "-inf"]),
                          max_size=40).map("".join),
                 MUTATIONS.map(lambda m: _mutate(STATE.encode(), *m).decode("latin-1"))))
def test_state_file_parser(text: str) -> None:
    _only_savepoint_errors(state_file.parse_state, text, "fuzz")


def test_state_file_on_disk_binary_garbage(tmp_path: os.PathLike) -> None:
    storage.write_bytes_atomically(os.path.join(str(tmp_path), "checkpoint"), b"\xff\xfe\x00")
    with pytest.raises(SavepointError, match="Expected UTF-8 text"):
        state_file.read_state(str(tmp_path))


# --------------------------------------------------------------------------- HDF5
def _load_h5(data: bytes, directory: str) -> None:
    path = os.path.join(directory, "fuzz.h5")
    storage.write_bytes_atomically(path, data)
    _only_savepoint_errors(keras.models.load_model, path)


def _mutate_h5(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    """Byte edits anywhere but the trailer's magic: the checksum trailer must catch them before
    libhdf5 parses the file (libhdf5 can loop forever on damaged metadata)."""
    return _mutate(data[:-16], edits, 0) + data[-16:]


@FAST
@given(MUTATIONS)
def test_h5_model_mutated_bytes(files: dict, tmp_path_factory: pytest.TempPathFactory,
                                mutation: tuple) -> None:
    _load_h5(_mutate_h5(files["m.h5"], mutation[0]), str(tmp_path_factory.mktemp("h5")))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) |
    st.sampled_from(["os.system", "__reduce__", "builtins.eval", "Lambda", "Sequential",
                     "Dense", "tests.saving.test_fuzz_readers.pwned"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["class_name", "config", "module", "registered_name", "layers",
                         "name", "units", "function", "__reduce__", "build_config",
                         "batch_input_shape", "dtype", "optimizer_config", "loss"]) |
        st.text(max_size=6), inner, max_size=5), max_leaves=20)
HOSTILE_CONFIGS = st.one_of(
    JSON_VALUES,
    st.builds(lambda cls, module, cfg: {"class_name": cls, "module": module, "config": cfg},
              st.sampled_from(["system", "os.system", "eval", "pwned", "Sequential", "Lambda",
                               "__reduce__"]),
              st.sampled_from(["os", "builtins", "subprocess", "tests.saving.test_fuzz_readers",
                               "keras.layers", None]), JSON_VALUES))


def _h5_with_configs(path: str, model_config: object, training_config: object,
                     names: object) -> None:
    """A valid HDF5 file (no checksum trailer, as tf.keras writes) with hostile attributes."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["training_config"] = json.dumps(training_config).encode()
        f.attrs["keras_version"] = b"2.21.0"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = names
        g.create_group("dense").attrs["weight_names"] = names


@MODELS
@given(HOSTILE_CONFIGS, JSON_VALUES,
       st.sampled_from([np.array([b"dense"]), np.array([1.5]), np.zeros((2, 2)),
                        np.array([b"../../x", b"\xff"]), np.array([], dtype=np.float64)]))
def test_h5_hostile_attributes(tmp_path_factory: pytest.TempPathFactory, config: object,
                               training: object, names: np.ndarray) -> None:
    path = os.path.join(str(tmp_path_factory.mktemp("h5a")), "m.h5")
    _h5_with_configs(path, config, training, names)
    _only_savepoint_errors(keras.models.load_model, path)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    _only_savepoint_errors(model.load_weights, path)
    assert not PWNED


# --------------------------------------------------------------------------- .keras zip
@FAST
@given(MUTATIONS)
def test_keras_archive_mutated_bytes(files: dict, tmp_path_factory: pytest.TempPathFactory,
                                     mutation: tuple) -> None:
    path = os.path.join(str(tmp_path_factory.mktemp("kz")), "m.keras")
    storage.write_bytes_atomically(path, _mutate(files["m.keras"], *mutation))
    _only_savepoint_errors(keras.models.load_model, path)


def _crafted_zip(path: str, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "assets/../../evil.txt",
                                  "assets/a/../../../evil.txt", "assets\\..\\evil.txt",
                                  "C:/evil.txt", "assets//x"])
def test_keras_member_names_cannot_escape(files: dict, tmp_path: os.PathLike,
                                          name: str) -> None:
    root = str(tmp_path)
    valid = zipfile.ZipFile(io.BytesIO(files["m.keras"]))
    members = {n: valid.read(n) for n in valid.namelist()}
    members[name] = b"pwned"
    path = os.path.join(root, "inner", "m.keras")
    os.makedirs(os.path.dirname(path))
    _crafted_zip(path, members)
    before = set(storage.list_tree(root))
    with pytest.raises(SavepointError, match="is not a valid '.keras' file"):
        keras.models.load_model(path)
    assert set(storage.list_tree(root)) == before
    assert not os.path.exists(os.path.join(root, "evil.txt"))


def test_keras_unsupported_zip_version_is_a_format_error(files: dict,
                                                        tmp_path: os.PathLike) -> None:
    data = bytearray(files["m.keras"])
    central = bytes(data).find(b"PK\x01\x02")
    data[central + 6] = 84  # "version needed to extract" 8.4: zipfile raises NotImplementedError
    path = os.path.join(str(tmp_path), "m.keras")
    storage.write_bytes_atomically(path, bytes(data))
    with pytest.raises(SavepointError, match="cannot be read as a zip file .*zip file version"):
        keras.models.load_model(path)


def test_keras_member_claiming_huge_size_fails_fast(files: dict, tmp_path: os.PathLike) -> None:
    data = bytearray(files["m.keras"])
    valid = zipfile.ZipFile(io.BytesIO(files["m.keras"]))
    info = valid.getinfo("config.json")
    central = bytes(data).find(b"PK\x01\x02")
    while bytes(data[central + 46:central + 46 + len(info.filename)]) != b"config.json":
        central = bytes(data).find(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size
    path = os.path.join(str(tmp_path), "m.keras")
    storage.write_bytes_atomically(path, bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(SavepointError, match=r"config\.json"):
            keras.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


@MODELS
@given(HOSTILE_CONFIGS, JSON_VALUES)
def test_keras_hostile_config_json(files: dict, tmp_path_factory: pytest.TempPathFactory,
                                   config: object, metadata: object) -> None:
    valid = zipfile.ZipFile(io.BytesIO(files["m.keras"]))
    members = {n: valid.read(n) for n in valid.namelist()}
    members["config.json"] = json.dumps(config).encode()
    if isinstance(metadata, dict):
        members["metadata.json"] = json.dumps(metadata).encode()
    path = os.path.join(str(tmp_path_factory.mktemp("kc")), "m.keras")
    _crafted_zip(path, members)
    _only_savepoint_errors(keras.models.load_model, path)
    assert not PWNED


# --------------------------------------------------------------------------- model directory
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    keras.backend.clear_session()
    path = os.path.join(str(tmp_path_factory.mktemp("md")), "mdir")
    _model().save(path)
    return path


@pytest.mark.filterwarnings("ignore:Could not resolve class")  # the inference-only fallback
@MODELS
@given(HOSTILE_CONFIGS)
def test_saved_model_json_hostile_config(model_dir: str, tmp_path_factory: pytest.TempPathFactory,
                                         config: object) -> None:
    target = os.path.join(str(tmp_path_factory.mktemp("mdc")), "m")
    shutil.copytree(model_dir, target)
    meta_path = os.path.join(target, "saved_model.json")
    meta = json.loads(storage.read_text(meta_path))
    meta["model_config"] = config
    storage.replace_text_atomically(meta_path, json.dumps(meta))
    fingerprint.write_fingerprint(target)  # a consistent, deliberately hostile directory
    _only_savepoint_errors(keras.models.load_model, target)
    assert not PWNED


# --------------------------------------------------------------------------- size claims
def test_header_claiming_a_petabyte_tensor_fails_fast(tmp_path: os.PathLike) -> None:
    prefix = os.path.join(str(tmp_path), "cp.ckpt")
    write_bundle(prefix, {"w": np.ones(4, np.float32)})
    rows = table.read_table(storage.read_bytes(prefix + ".index"), "x")
    entry = proto.decode_entry(rows[1][1], "w")
    entry.shape, entry.size = (125_000_000_000_000,), 10 ** 15  # 1e15 bytes of float64
    entry.dtype = 2  # DT_DOUBLE
    rows[1] = (rows[1][0], proto.encode_entry(entry))
    storage.write_bytes_atomically(prefix + ".index", table.encode_table(rows))
    tracemalloc.start()
    try:
        with pytest.raises(SavepointError, match=r"inside its data file .*size 1000000000000000"):
            BundleReader(prefix).get_tensor("w")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_h5_dataset_claiming_a_petabyte_fails_fast(tmp_path: os.PathLike) -> None:
    path = os.path.join(str(tmp_path), "w.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("g/huge", shape=(125_000_000_000_000,), dtype=np.float64)
    from savepoint.saving.formats.h5 import H5Reader
    tracemalloc.start()
    try:
        with H5Reader(path) as reader, pytest.raises(SavepointError,
                                                     match="more bytes than the file holds"):
            reader.read_array("g", "huge", "dataset 'huge'")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


@pytest.mark.slow
@SLOW
@given(MUTATIONS, MUTATIONS)
def test_containers_long(files: dict, tmp_path_factory: pytest.TempPathFactory, a: tuple,
                         b: tuple) -> None:
    directory = str(tmp_path_factory.mktemp("long"))
    _load_h5(_mutate_h5(files["m.h5"], a[0]), directory)
    path = os.path.join(directory, "m.keras")
    storage.write_bytes_atomically(path, _mutate(files["m.keras"], *b))
    _only_savepoint_errors(keras.models.load_model, path)
