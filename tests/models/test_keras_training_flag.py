"""An explicit ``base(x, training=False)`` survives the Keras 3 ``.keras`` format: savepoint
writes it in the node's kwargs, reads it back (so fine-tuning a reloaded model leaves
BatchNormalization's moving statistics alone, as tf.keras 2 does), Keras 3 opens the file and
predicts the same, and Keras 3's own file keeps the flag while Dropout's recorded call default
is not mistaken for one (live, keras3_training_flag.py)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import savepoint as keras

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "interop"))
from model_api_goldens import transfer_model  # noqa: E402
from venv_runners import K3_PYTHON, _interop_python, _run_in_keras3  # noqa: E402

CHECKER = os.path.join(HERE, "keras3_training_flag.py")


def _keras3(spec: dict) -> dict:
    out = _run_in_keras3(_interop_python(K3_PYTHON, "Keras 3"), CHECKER, spec)
    return json.loads(out.strip().splitlines()[-1])


def _call_kwargs(model, name):
    return [n.kwargs for n in model.get_layer(name)._inbound_nodes if n.input_tensors]


def _fine_tune_keeps_bn_statistics(model, bn):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4)).astype("float32") * 3 + 2
    before = [w.copy() for w in bn.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, rng.standard_normal((8, 1)).astype("float32"), batch_size=4, verbose=0)
    after = bn.get_weights()
    np.testing.assert_array_equal(after[2], before[2])  # moving_mean
    np.testing.assert_array_equal(after[3], before[3])  # moving_variance
    assert not np.array_equal(after[0], before[0])  # gamma did train


def test_training_false_round_trips_through_keras_file(tmp_path):
    keras.utils.set_random_seed(1)
    model, _ = transfer_model()
    path = str(tmp_path / "transfer.keras")
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    assert _call_kwargs(loaded, "base") == [{"training": False}]
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    _fine_tune_keeps_bn_statistics(loaded, loaded.get_layer("base").get_layer("base_bn"))


def test_keras3_opens_our_file_with_the_flag_and_predicts_the_same(tmp_path):
    keras.utils.set_random_seed(1)
    model, _ = transfer_model()
    rng = np.random.default_rng(4)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    x = rng.standard_normal((6, 4)).astype("float32")
    path, npz = str(tmp_path / "ours.keras"), str(tmp_path / "x.npz")
    model.save(path)
    np.savez(npz, x=x)
    theirs = _keras3({"mode": "load", "path": path, "npz": npz})
    assert theirs["base_kwargs"] == {"training": False}
    np.testing.assert_allclose(np.asarray(theirs["pred"]), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_we_read_keras3_files_training_false_but_not_dropouts_default(tmp_path):
    path, npz = str(tmp_path / "k3.keras"), str(tmp_path / "k3.npz")
    _keras3({"mode": "make", "path": path, "npz": npz})
    model = keras.models.load_model(path, compile=False)
    assert _call_kwargs(model, "base") == [{"training": False}]
    # Keras 3 records Dropout's call default (training=False) in every node: not a user's flag
    assert _call_kwargs(model, "drop") == [{}]
    data = np.load(npz)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)
    _fine_tune_keeps_bn_statistics(model, model.get_layer("base").get_layer("base_bn"))
