"""LIVE: tf.keras loads savepoint's ``.h5`` of a model full of preprocessing layers (same
predictions and weights), and savepoint loads the ``.h5`` tf.keras writes for the same model;
likewise ``.keras`` with Keras 3 and TF checkpoints (``save_weights``). Runs the ``interop*``
checks of tools/make_preprocessing_goldens.py in the TF and Keras 3 venvs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.utils import set_random_seed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TF_PYTHON = os.path.join(ROOT, ".venvs", "tf", "bin", "python")
K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")
TOOL = os.path.join(ROOT, "tools", "make_preprocessing_goldens.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_preprocessing_goldens import interop_model  # noqa: E402


def _run(python, command, spec, env):
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live interop tests skipped")
    if not os.access(python, os.X_OK):
        pytest.fail(f"Expected the interop venv at {python}. Fix: run "
                    f"`bash tools/setup_interop_venvs.sh`.", pytrace=False)
    proc = subprocess.run([python, TOOL, command, json.dumps(spec)], capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH="", **env))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _run_tf(spec):
    return _run_tf_command("interop", spec)


def _run_tf_command(command, spec):
    return _run(TF_PYTHON, command, spec, {"TF_USE_LEGACY_KERAS": "1",
                                           "TF_CPP_MIN_LOG_LEVEL": "3"})


def _save_ours(model, path, npz):
    x = np.random.default_rng(5).random((3, 6, 8, 3)).astype("float32") * 255
    model.save(path)
    weights = model.get_weights()
    np.savez(npz, x=x, y=model.predict(x, verbose=0), n=len(weights),
             **{f"w{i}": w for i, w in enumerate(weights)})


def _check_theirs(path, npz, like):
    theirs = keras.models.load_model(path)
    data = np.load(npz)
    weights = theirs.get_weights()
    assert len(weights) == int(data["n"])
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(w, data[f"w{i}"].astype(w.dtype))
    np.testing.assert_allclose(theirs.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)
    assert [type(l).__name__ for l in theirs.layers] == [type(l).__name__ for l in like.layers]


def test_keras3_reads_ours_and_we_read_theirs(tmp_path):
    set_random_seed(2)
    model = interop_model(keras, np, "bilinear")
    _save_ours(model, str(tmp_path / "ours.keras"), tmp_path / "ours.npz")
    out = _run(K3_PYTHON, "interop_keras3", {
        "read": {"path": str(tmp_path / "ours.keras"), "npz": str(tmp_path / "ours.npz")},
        "write": {"path": str(tmp_path / "theirs.keras"), "npz": str(tmp_path / "theirs.npz")}},
        {"KERAS_BACKEND": "torch"})
    assert "read OK" in out and "write OK" in out
    _check_theirs(str(tmp_path / "theirs.keras"), tmp_path / "theirs.npz", model)


def test_tf_keras_reads_ours_and_we_read_theirs(tmp_path):
    set_random_seed(2)
    model = interop_model(keras, np)
    _save_ours(model, str(tmp_path / "ours.h5"), tmp_path / "ours.npz")
    out = _run_tf({"read": {"h5": str(tmp_path / "ours.h5"), "npz": str(tmp_path / "ours.npz")},
                   "write": {"h5": str(tmp_path / "theirs.h5"),
                             "npz": str(tmp_path / "theirs.npz")}})
    assert "read OK" in out and "write OK" in out
    _check_theirs(str(tmp_path / "theirs.h5"), tmp_path / "theirs.npz", model)


def test_tf_checkpoints_both_ways(tmp_path):
    set_random_seed(2)
    model = interop_model(keras, np)
    x = np.random.default_rng(5).random((3, 6, 8, 3)).astype("float32") * 255
    model.save_weights(str(tmp_path / "ours" / "cp.ckpt"))
    np.savez(tmp_path / "ours.npz", x=x, y=model.predict(x, verbose=0))
    out = _run_tf_command("interop_checkpoint", {
        "read": str(tmp_path / "ours" / "cp.ckpt"), "npz": str(tmp_path / "ours.npz"),
        "write": str(tmp_path / "theirs" / "cp.ckpt"), "write_npz": str(tmp_path / "theirs.npz")})
    assert "checkpoint OK" in out
    fresh = interop_model(keras, np)
    fresh.load_weights(str(tmp_path / "theirs" / "cp.ckpt"))
    data = np.load(tmp_path / "theirs.npz")
    np.testing.assert_allclose(fresh.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)
