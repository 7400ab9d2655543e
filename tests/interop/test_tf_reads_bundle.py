"""LIVE: real TensorFlow reads bundles and state files written by savepoint, bit for bit."""

from __future__ import annotations

import json
import os

import numpy as np

from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
from savepoint.saving.formats.tf_checkpoint.state_file import write_state

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tf")


def _many_tensors() -> dict[str, object]:
    rng = np.random.default_rng(7)
    out: dict[str, object] = {}
    for dtype in ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                  "uint16", "uint32", "uint64", "complex64", "complex128"]:
        raw = rng.integers(0, 256, size=6 * np.dtype(dtype).itemsize, dtype=np.uint8)
        out[f"v/{dtype}/.ATTRIBUTES/VARIABLE_VALUE"] = raw.view(dtype).reshape(2, 3)
    out["v/bool"] = np.array([[True, False], [False, True]])
    out["v/bfloat16"] = BFloat16Array.from_float32(rng.standard_normal((3, 2)).astype(np.float32))
    out["scalar"] = np.float64(-1.25)
    out["empty"] = np.zeros((0, 4), np.int32)
    out["big"] = rng.standard_normal((300, 400)).astype(np.float32)
    out["text"] = "savepoint \u2713"
    out["words"] = np.array([b"a", b"", b"xyz" * 50], dtype=object)
    return out


def _expected_npz(tensors: dict[str, object], path: str) -> list[dict]:
    arrays, manifest = {}, []
    for i, (key, value) in enumerate(tensors.items()):
        if isinstance(value, BFloat16Array):
            arrays[f"t{i}"], dtype = value.bits, "bfloat16"
        elif isinstance(value, (str, bytes)):
            arrays[f"t{i}"] = np.array(value.encode() if isinstance(value, str) else value,
                                       dtype=np.bytes_)
            dtype = "string"
        elif value.dtype == object:
            arrays[f"t{i}"], dtype = np.array(value.tolist(), dtype=np.bytes_), "string"
        else:
            arrays[f"t{i}"], dtype = value, value.dtype.name
        manifest.append({"key": key, "dtype": dtype, "npz": f"t{i}"})
    np.savez(path, **arrays)
    return manifest


def test_tensorflow_reads_every_dtype_and_follows_state_file(tmp_path, run_in_tf):
    directory = tmp_path / "training_1"
    prefix = str(directory / "cp-0002.ckpt")
    tensors = _many_tensors()
    write_bundle(str(directory / "cp-0001.ckpt"), {"old": np.int8(1)})
    write_bundle(prefix, tensors)
    write_state(str(directory), prefix, [str(directory / "cp-0001.ckpt"), prefix],
                [1700000000.5, 1700000001.25], 1700000000.0)
    manifest = _expected_npz(tensors, str(tmp_path / "expected.npz"))
    out = run_in_tf("tf_check_bundle.py", {
        "prefix": prefix, "npz": str(tmp_path / "expected.npz"), "tensors": manifest,
        "directory": str(directory), "expect_latest": prefix})
    assert f"OK tensors {len(tensors)}" in out and "OK latest_checkpoint" in out


def test_tf_keras_restores_a_model_checkpoint_written_by_savepoint(tmp_path, run_in_tf):
    source = os.path.join(FIXTURES, "seq")
    reader = BundleReader(os.path.join(source, "cp.ckpt"))
    tensors = {k: reader.get_tensor(k) for k in reversed(reader.keys())}  # our own data order
    directory = tmp_path / "training_1"
    prefix = str(directory / "cp.ckpt")
    write_bundle(prefix, tensors)
    write_state(str(directory), prefix)
    with open(os.path.join(source, "manifest.json")) as f:
        manifest = json.load(f)["tensors"]
    out = run_in_tf("tf_check_bundle.py", {
        "prefix": prefix, "npz": os.path.join(source, "expected.npz"), "tensors": manifest,
        "directory": str(directory), "expect_latest": prefix,
        "keras": {"weights_npz": os.path.join(source, "weights.npz"),
                  "predictions_npz": os.path.join(source, "predictions.npz")}})
    assert "OK keras load_weights 4" in out
