"""LIVE: tf-keras loads savepoint's ``w.h5`` and Keras 3 its ``m.weights.h5``, same predictions.

Each savepoint model is the architecture of tools/make_h5_fixtures.py with savepoint's own
(random) weights; the checker rebuilds it in the other library, loads the file, and compares
every weight bit for bit and the predictions.
"""

from __future__ import annotations

import os

import numpy as np

import savepoint as keras
from keras_models import h5_fixture

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "h5")


def build(name: str) -> keras.Model:
    """The fixture architecture ``name`` in savepoint (as tools/make_h5_fixtures.py builds it)."""
    return h5_fixture(keras, name)


def _trained(name: str) -> tuple[keras.Model, np.ndarray]:
    """A savepoint model with non-trivial weights (BatchNorm statistics, Adam slots)."""
    model = build(name)
    x = np.load(os.path.join(FIXTURES, f"{name}.tf_keras.npz"))["x"]
    if name == "seq":
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
        model.fit(x, np.ones((len(x), 3), "float32"), epochs=3, batch_size=5, verbose=0)
    return model, x


def _expected(model: keras.Model, x: np.ndarray, path: str, optimizer: bool) -> None:
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    if optimizer:
        opt = model.optimizer
        arrays["iterations"] = np.asarray(int(opt.iterations.numpy()))
        arrays["learning_rate"] = np.asarray(opt.learning_rate, np.float32)
        # Keras 3's optimizer.variables: iteration, learning_rate, then ours after iteration.
        arrays.update({f"opt{i + 1}": v.numpy() for i, v in enumerate(opt.variables) if i})
    np.savez(path, x=x, y=model.predict(x, verbose=0), **arrays)


MODELS = ["seq", "conv", "emb"]


def test_tf_keras_loads_savepoint_h5(tmp_path, run_in_tf):
    specs, counts = [], {}
    for name in MODELS:
        model, x = _trained(name)
        path, npz = str(tmp_path / f"{name}.h5"), str(tmp_path / f"{name}.npz")
        model.save_weights(path)
        _expected(model, x, npz, optimizer=False)
        specs.append({"side": "tf_keras", "model": name, "path": path, "npz": npz})
        counts[name] = len(model.weights)
    out = run_in_tf("keras_check_h5.py", specs)
    for name in MODELS:
        assert f"OK load_weights tf_keras {name} {counts[name]}" in out


def test_keras3_loads_savepoint_weights_h5(tmp_path, run_in_keras3):
    specs, counts = [], {}
    for name in MODELS:
        model, x = _trained(name)
        path, npz = str(tmp_path / f"{name}.weights.h5"), str(tmp_path / f"{name}.npz")
        model.save_weights(path)
        _expected(model, x, npz, optimizer=name == "seq")
        specs.append({"side": "keras3", "model": name, "path": path, "npz": npz,
                      "optimizer": name == "seq"})
        counts[name] = len(model.weights)
    out = run_in_keras3("keras_check_h5.py", specs)
    for name in MODELS:
        assert f"OK load_weights keras3 {name} {counts[name]}" in out
    assert "OK optimizer state 14" in out  # iteration, learning_rate, m and v of 6 weights
