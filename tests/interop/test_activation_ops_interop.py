"""LIVE: tf.keras 2 opens savepoint's ``.h5``/``cp.ckpt`` of a functional model built with
``keras.activations`` on symbolic tensors (relu(max_value=6), sigmoid, softmax: TF-op layers)
and predicts what savepoint predicts (tf_check_tfop.py)."""

from __future__ import annotations

import os
import sys

import numpy as np

from venv_runners import _run_in_tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "layers"))
from test_activations_symbolic import activation_model  # noqa: E402


def test_tf_keras_loads_our_activation_ops_model(tmp_path, tf_python):
    model = activation_model()
    x = np.random.default_rng(2).normal(size=(5, 4)).astype("float32") * 4
    model.save(str(tmp_path / "m.h5"))
    model.save_weights(str(tmp_path / "cp.ckpt"))
    arrays = {"x": x, "pred": model.predict(x, verbose=0)}
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(tmp_path / "expected.npz", **arrays)
    out = _run_in_tf(tf_python, "tf_check_tfop.py", {
        "h5": str(tmp_path / "m.h5"), "ckpt": str(tmp_path / "cp.ckpt"),
        "npz": str(tmp_path / "expected.npz")})
    assert '"ok": true' in out
