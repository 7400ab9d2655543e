"""Corruption is always detected: every file of every format, bit-flipped, truncated, zero-filled.

For each damaged copy the load must either raise a ``SavepointError`` whose message names the
damaged file (and the tensor or dataset whose bytes were hit, where the file has tensors), or
load values bitwise equal to the originals (damage in bytes never read). ``verify`` must then
raise too. The fast run samples offsets (headers, ends and a seeded sample); ``-m slow`` tries
every offset.
"""

from __future__ import annotations

import json
import os
import random
import struct

import numpy as np
import pytest

import savepoint as keras
from savepoint import train
from savepoint.errors import SavepointError
from savepoint.saving import storage
from savepoint.saving.formats import h5_checksum
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

FORMATS = ["tf_checkpoint", "model_directory", "h5_weights", "keras_weights", "h5_model",
           "keras"]
TARGET = {"tf_checkpoint": "ck", "model_directory": "mdir", "h5_weights": "w.h5",
          "keras_weights": "w.weights.h5", "h5_model": "m.h5", "keras": "m.keras"}


def _model() -> keras.Model:
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _values(model: keras.Model) -> dict[str, bytes]:
    out = {f"w{i}": v.numpy().tobytes() for i, v in enumerate(model.weights)}
    if model.optimizer is not None:
        out.update({f"o{i}": np.asarray(v.numpy()).tobytes()
                    for i, v in enumerate(model.optimizer.variables)})
    return out


def _load(fmt: str, root: str) -> dict[str, bytes]:
    """Load the saved ``fmt`` under ``root`` the way a user would; every value as bytes."""
    path = os.path.join(root, TARGET[fmt])
    if fmt == "tf_checkpoint":
        with train.load_checkpoint(path) as reader:  # the state file names the prefix
            prefix = reader.prefix
            values = {k: np.asarray(reader.get_tensor(k)).tobytes() for k in reader.keys()
                      if k != "_CHECKPOINTABLE_OBJECT_GRAPH"}
        model = _model()
        model.load_weights(prefix).expect_partial()
        return {**values, **_values(model)}
    if fmt in ("h5_weights", "keras_weights"):
        model = _model()
        model.load_weights(path)
        return _values(model)
    return _values(keras.models.load_model(path))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    keras.backend.clear_session()
    root = str(tmp_path_factory.mktemp("pristine"))
    model = _model()
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 4), np.float32), rng.random((8, 2), np.float32), epochs=1,
              verbose=0)
    model.save_weights(os.path.join(root, "ck", "cp.ckpt"))
    model.save_weights(os.path.join(root, "w.h5"))
    model.save_weights(os.path.join(root, "w.weights.h5"))
    for name in ("m.h5", "m.keras", "mdir"):
        model.save(os.path.join(root, name))
    originals = {fmt: _load(fmt, root) for fmt in FORMATS}
    return root, originals


def _files(root: str, fmt: str) -> list[str]:
    target = os.path.join(root, TARGET[fmt])
    if os.path.isdir(target):
        return [os.path.join(TARGET[fmt], rel) for rel in storage.list_tree(target)]
    return [TARGET[fmt]]


def _offsets(size: int, n: int, seed: str) -> list[int]:
    """Header bytes, the last bytes, and a seeded sample of the rest (``n <= 0``: all)."""
    if n <= 0 or size <= n:
        return list(range(size))
    fixed = set(range(min(size, 12))) | set(range(max(0, size - 12), size)) | {size // 2}
    rest = [o for o in range(size) if o not in fixed]
    return sorted(fixed | set(random.Random(seed).sample(rest, min(len(rest), n))))


def _regions(root: str, rel: str) -> list[tuple[int, int, str]]:
    """``(offset, nbytes, name)`` of the tensors / datasets stored in file ``rel``."""
    path = os.path.join(root, rel)
    if ".data-" in rel:
        prefix = path.split(".data-")[0]
        with BundleReader(prefix) as reader:
            return [(reader.entry(k).offset, reader.entry(k).size, k) for k in reader.keys()]
    if rel.endswith(".h5"):
        trailer = h5_checksum.read_trailer(h5_checksum.FileBytes(path), path)
        return [(o, n, name) for name, (o, n, _) in trailer.datasets.items()]
    return []


def _damages(size: int, n: int, seed: str) -> list[tuple[str, int]]:
    offsets = _offsets(size, n, seed)
    return ([("flip", o) for o in offsets] + [("truncate", o) for o in offsets] +
            [("zero", o) for o in offsets[::2]])


def _apply(data: bytes, kind: str, offset: int) -> bytes:
    if kind == "flip":
        return data[:offset] + bytes([data[offset] ^ (1 << (offset % 8))]) + data[offset + 1:]
    if kind == "truncate":
        return data[:offset]
    end = min(len(data), offset + 16)
    return data[:offset] + bytes(end - offset) + data[end:]


def _names_file(message: str, root: str, rel: str) -> bool:
    if os.path.basename(rel) == "checkpoint":  # a common word: require the state file's path
        return os.path.join(root, rel) in message
    return os.path.basename(rel) in message


def _run(saved: tuple[str, dict], fmt: str, n: int) -> dict[str, int]:
    root, originals = saved
    counts = {"detected": 0, "harmless": 0}
    for rel in _files(root, fmt):
        path = os.path.join(root, rel)
        pristine = storage.read_bytes(path)
        regions = _regions(root, rel)
        try:
            for kind, offset in _damages(len(pristine), n, f"{fmt}/{rel}"):
                damaged = _apply(pristine, kind, offset)
                if damaged == pristine:
                    continue
                with open(path, "wb") as f:
                    f.write(damaged)
                _check_one(fmt, root, rel, kind, offset, regions, originals[fmt], counts)
        finally:
            with open(path, "wb") as f:
                f.write(pristine)
    return counts


def _check_one(fmt: str, root: str, rel: str, kind: str, offset: int, regions: list,
               original: dict, counts: dict) -> None:
    case = f"{fmt}: {kind} at {offset} of {rel}"
    try:
        loaded = _load(fmt, root)
    except SavepointError as e:
        message = str(e)
        assert _names_file(message, root, rel), f"{case}: message does not name the file: {e}"
        end = offset + (16 if kind == "zero" else 1)
        hit = [name for o, size, name in regions if kind != "truncate" and o < end
               and offset < o + size and fmt != "model_directory"]  # (fingerprint: per file)
        assert not hit or any(name in message for name in hit), \
            f"{case}: none of {hit} is named in: {e}"
        with pytest.raises(SavepointError):
            train.verify(os.path.join(root, TARGET[fmt]))
        counts["detected"] += 1
        return
    except Exception as e:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{case}: raised {type(e).__name__}, not a SavepointError: {e}")
    assert loaded.keys() == original.keys() and all(
        loaded[k] == original[k] for k in original), f"{case}: loaded different values silently"
    counts["harmless"] += 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_damage_is_detected_or_harmless(saved: tuple[str, dict], fmt: str) -> None:
    counts = _run(saved, fmt, n=10 if fmt == "model_directory" else 24)
    assert counts["detected"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_damage_is_detected_or_harmless_every_offset(saved: tuple[str, dict], fmt: str) -> None:
    counts = _run(saved, fmt, n=0)
    assert counts["detected"] > 0


def test_pristine_files_verify(saved: tuple[str, dict]) -> None:
    root, _ = saved
    reports = {fmt: train.verify(os.path.join(root, TARGET[fmt])) for fmt in FORMATS}
    assert {fmt: r.format for fmt, r in reports.items()} == {
        "tf_checkpoint": "tf_checkpoint", "model_directory": "model_directory",
        "h5_weights": "h5", "keras_weights": "h5", "h5_model": "h5", "keras": "keras"}
    # Dense(4->3) + Dense(3->2): 15 + 8 floats = 92 bytes of weights in the weights-only h5
    assert reports["h5_weights"].n_tensors == 4 and reports["h5_weights"].bytes_checked == 92
    assert reports["tf_checkpoint"].path == os.path.join(root, "ck", "cp.ckpt")
    assert all(r.n_tensors > 0 and r.bytes_checked > 0 for r in reports.values())


def test_h5_trailer_layout(saved: tuple[str, dict]) -> None:
    """The trailer is JSON + length + crc32c + magic after the HDF5 bytes; h5py ignores it."""
    root, _ = saved
    data = storage.read_bytes(os.path.join(root, "w.h5"))
    length, _, magic = struct.unpack("<QI16s", data[-28:])
    doc = json.loads(data[-28 - length:-28])
    assert magic == h5_checksum.MAGIC and doc["h5_size"] == len(data) - 28 - length
    assert sorted(doc["datasets"]) == ["/dense/dense/bias:0", "/dense/dense/kernel:0",
                                       "/dense_1/dense_1/bias:0", "/dense_1/dense_1/kernel:0"]


def test_damaged_h5_dataset_names_file_and_dataset(saved: tuple[str, dict],
                                                    tmp_path: os.PathLike) -> None:
    root, _ = saved
    path = os.path.join(str(tmp_path), "w.h5")
    data = bytearray(storage.read_bytes(os.path.join(root, "w.h5")))
    trailer = h5_checksum.read_trailer(h5_checksum.FileBytes(os.path.join(root, "w.h5")), path)
    offset = trailer.datasets["/dense/dense/kernel:0"][0]
    data[offset + 3] ^= 0x40
    storage.write_bytes_atomically(path, bytes(data))
    model = _model()
    before = _values(model)
    with pytest.raises(SavepointError, match=r"w\.h5.*dataset '/dense/dense/kernel:0' does not "
                                             r"match its crc32c"):
        model.load_weights(path)
    assert _values(model) == before  # a failed load leaves the model as it was
    with pytest.raises(SavepointError, match=r"dataset '/dense/dense/kernel:0'"):
        train.verify(path)


def test_state_file_naming_missing_checkpoint(saved: tuple[str, dict],
                                              tmp_path: os.PathLike) -> None:
    d = str(tmp_path)
    storage.replace_text_atomically(os.path.join(d, "checkpoint"),
                                    'model_checkpoint_path: "gone.ckpt"\n')
    assert train.latest_checkpoint(d) is None  # TensorFlow's answer
    with pytest.raises(SavepointError, match=r"names checkpoint .*gone\.ckpt.*index file is "
                                             r"missing"):
        train.load_checkpoint(d)
    with pytest.raises(SavepointError, match="index file is missing"):
        train.verify(d)


@pytest.mark.parametrize("text, problem", [
    ("", "names no model_checkpoint_path"),
    ('model_checkpoint_path: "a"\nall_model_checkpoint_paths: "b"\n', "is not among"),
    ('model_checkpoint_path: "a"\nall_model_checkpoint_paths: "a"\n'
     'all_model_checkpoint_timestamps: 1.0\nall_model_checkpoint_timestamps: 2.0\n',
     "1 checkpoint paths but 2 timestamps"),
])
def test_inconsistent_state_file_is_refused(tmp_path: os.PathLike, text: str,
                                            problem: str) -> None:
    d = str(tmp_path)
    storage.replace_text_atomically(os.path.join(d, "checkpoint"), text)
    with pytest.raises(SavepointError, match=f"state file .* is damaged or inconsistent: "
                                             f".*{problem}"):
        train.latest_checkpoint(d)


def test_fingerprint_covers_itself(saved: tuple[str, dict], tmp_path: os.PathLike) -> None:
    import shutil
    target = os.path.join(str(tmp_path), "mdir")
    shutil.copytree(os.path.join(saved[0], "mdir"), target)
    fp = os.path.join(target, "fingerprint.json")
    doc = json.loads(storage.read_text(fp))
    assert len(doc["self_sha256"]) == 64
    doc["algorithm"] = "sha256"
    first = sorted(doc["files"])[0]
    doc["files"][first] = "0" * 64  # a consistent-looking edit the self hash still catches
    storage.replace_text_atomically(fp, json.dumps(doc))
    with pytest.raises(SavepointError, match=r"fingerprint\.json.*does not match its own "
                                             r"self_sha256"):
        train.verify(target)
