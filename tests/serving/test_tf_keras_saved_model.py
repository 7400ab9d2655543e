"""A SavedModel written by tf.keras (in the TF venv) is a version folder ``savepoint serve``
serves: status, metadata and predict answers equal TensorFlow's own predictions."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from serving_helpers import close, running_server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "interop"))
from venv_runners import TF_PYTHON, _interop_python, _run_script  # noqa: E402


def test_serves_a_tf_keras_saved_model(tmp_path):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    x = np.random.default_rng(4).normal(size=(3, 5)).astype("float32")
    script = os.path.join("..", "serving", "tf_keras_saved_model.py")
    out = _run_script(python, "TensorFlow", {"TF_USE_LEGACY_KERAS": "1",
                                             "TF_CPP_MIN_LOG_LEVEL": "3"},
                      script, {"path": str(tmp_path / "tfm" / "1"), "x": x.tolist()})
    want = np.asarray(json.loads(out.strip().splitlines()[-1])["predictions"], np.float32)
    with running_server(["--model_name=tfm", f"--model_base_path={tmp_path / 'tfm'}"],
                        str(tmp_path / "log"), wait_for="tfm") as server:
        sig = server.client.get("/v1/models/tfm/metadata").json()[
            "metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert list(sig["inputs"]) == ["features"] and list(sig["outputs"]) == ["scores"]
        r = server.client.post("/v1/models/tfm:predict", json={"instances": x.tolist()})
        assert r.status_code == 200, r.text
        close(r.json()["predictions"], want)
        r = server.client.post("/v1/models/tfm/versions/1:predict",
                               json={"inputs": {"features": x.tolist()}})
        close(r.json()["outputs"], want)
