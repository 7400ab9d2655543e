"""LIVE, read direction: SavedModels that real tf.keras 2.21 has just written open in savepoint.

The tutorial flow end to end: tf.keras trains the tutorial's full-size MLP on this project's
MNIST sample and saves it with ``model.save(dir)`` (a SavedModel); savepoint's ``load_model``
gives the same test accuracy and predictions, the optimizer's step count, and trains on. Every
architecture family of the golden fixtures is written fresh by TF too and loads with the same
predictions and bit-identical weights, and so do more layer families (nested model,
Bidirectional, Conv1D + LayerNormalization, TimeDistributed, MultiHeadAttention, two outputs,
separable convolutions: same predictions). One TensorFlow process writes everything
(tf_write_saved_models.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings

import numpy as np

import savepoint as keras

FAMILIES = ["mlp", "mlp_legacy", "cnn_bn", "cnn_legacy_rmsprop", "two_input", "embedding", "rnn",
            "mobilenet"]


def _mnist(path: str) -> dict:
    os.environ.setdefault("SAVEPOINT_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the embedded sample's notice
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    data = {"x_train": x_train[:1000].reshape(-1, 784).astype("float32") / 255.0,
            "y_train": y_train[:1000].astype("int64"),
            "x_test": x_test[:1000].reshape(-1, 784).astype("float32") / 255.0,
            "y_test": y_test[:1000].astype("int64")}
    np.savez(path, **data)
    return data


def _load(path: str) -> keras.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.models.load_model(path)


def test_savepoint_opens_the_savedmodels_tf_keras_writes(tmp_path, run_in_tf):
    data = _mnist(str(tmp_path / "mnist.npz"))
    out = tmp_path / "tf"
    out.mkdir()
    stdout = run_in_tf("tf_write_saved_models.py", {
        "out": str(out), "mnist": str(tmp_path / "mnist.npz"), "epochs": 5,
        "families": FAMILIES})
    tf_result = json.loads(stdout.strip().splitlines()[-1])

    # the tutorial: trained in tf.keras, saved as a SavedModel, evaluated in savepoint
    model = _load(str(out / "tutorial"))
    with np.load(out / "tutorial.npz") as f:
        want = {k: f[k] for k in f.files}
    np.testing.assert_allclose(model.predict(data["x_test"], verbose=0), want["pred"], atol=1e-5)
    loss, acc = model.evaluate(data["x_test"], data["y_test"], verbose=0)
    assert acc == tf_result["acc"] > 0.8
    np.testing.assert_allclose(loss, tf_result["loss"], rtol=1e-5)
    assert int(model.optimizer.iterations.numpy()) == int(want["iterations"])
    model.fit(data["x_train"], data["y_train"], epochs=1, verbose=0)  # Adam resumes its slots
    assert model.evaluate(data["x_test"], data["y_test"], verbose=0)[1] > 0.8

    # every family, written fresh by the same tf.keras
    for name in FAMILIES:
        with np.load(out / f"{name}.npz") as f:
            expected = {k: f[k] for k in f.files}
        loaded = _load(str(out / name))
        xs = [expected[k] for k in sorted(expected) if k.startswith("x")]
        x = xs if len(xs) > 1 else xs[0]
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected["pred"], atol=1e-5,
                                   err_msg=name)
        digests = [hashlib.sha256(w.numpy().tobytes()).hexdigest() for w in loaded.weights]
        assert digests == [str(s) for s in expected["weight_sha256"]], name

    # more layer families: nested, Bidirectional, attention, two outputs, separable convs ...
    assert len(tf_result["more"]) == 7
    for name in tf_result["more"]:
        with np.load(out / f"{name}.npz") as f:
            expected = {k: f[k] for k in f.files}
        loaded = _load(str(out / name))
        assert len(loaded.weights) == int(expected["n_weights"]), name
        pred = loaded.predict(expected["x"], verbose=0)
        for i, value in enumerate(pred if isinstance(pred, list) else [pred]):
            np.testing.assert_allclose(value, expected[f"pred{i}"], atol=1e-5, err_msg=name)
