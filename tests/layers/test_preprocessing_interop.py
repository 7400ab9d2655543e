"""LIVE: tf.keras loads savepoint's ``.h5`` of a model full of preprocessing layers (same
predictions and weights), and savepoint loads the ``.h5`` tf.keras writes for the same model.
Runs tools/make_preprocessing_goldens.py's ``interop`` check in the TF venv."""

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
TOOL = os.path.join(ROOT, "tools", "make_preprocessing_goldens.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_preprocessing_goldens import interop_model  # noqa: E402


def _run_tf(spec):
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live interop tests skipped")
    if not os.access(TF_PYTHON, os.X_OK):
        pytest.fail(f"Expected the TensorFlow interop venv at {TF_PYTHON}. Fix: run "
                    f"`bash tools/setup_interop_venvs.sh`.", pytrace=False)
    proc = subprocess.run([TF_PYTHON, TOOL, "interop", json.dumps(spec)], capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
                                   CUDA_VISIBLE_DEVICES="", PYTHONPATH=""))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_tf_keras_reads_ours_and_we_read_theirs(tmp_path):
    set_random_seed(2)
    model = interop_model(keras, np)
    x = np.random.default_rng(5).random((3, 6, 8, 3)).astype("float32") * 255
    model.save(str(tmp_path / "ours.h5"))
    weights = model.get_weights()
    np.savez(tmp_path / "ours.npz", x=x, y=model.predict(x, verbose=0), n=len(weights),
             **{f"w{i}": w for i, w in enumerate(weights)})
    out = _run_tf({"read": {"h5": str(tmp_path / "ours.h5"), "npz": str(tmp_path / "ours.npz")},
                   "write": {"h5": str(tmp_path / "theirs.h5"),
                             "npz": str(tmp_path / "theirs.npz")}})
    assert "read OK" in out and "write OK" in out
    theirs = keras.models.load_model(str(tmp_path / "theirs.h5"))
    data = np.load(tmp_path / "theirs.npz")
    weights = theirs.get_weights()
    assert len(weights) == int(data["n"])
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(w, data[f"w{i}"])
    np.testing.assert_allclose(theirs.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)
    assert [type(l).__name__ for l in theirs.layers] == [type(l).__name__ for l in model.layers]
