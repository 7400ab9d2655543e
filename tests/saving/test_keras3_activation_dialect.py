"""Activation names that mean different numbers in Keras 3 and tf.keras 2 keep their numbers
across the Keras 3 dialect (issue 8): Keras 3's ``hard_sigmoid`` is ``relu6(x + 3) / 6`` (read as
``keras3_hard_sigmoid``), tf.keras 2's is ``clip(0.2 x + 0.5)`` (written for Keras 3 as a
registered function reference that Keras 3 refuses unless the function is registered).

Goldens: tests/fixtures/goldens/sweep/keras3_activations.{keras,npz} and
keras3_lstm_hard_sigmoid.npz, made by REAL Keras 3 (tools/make_sweep_goldens.py).
"""

import json
import os
import subprocess

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.layers import activations
from savepoint.saving.mapping.dialects import keras3
from savepoint.saving.engine.model_config import model_from_config, model_to_config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDENS = os.path.join(ROOT, "tests", "fixtures", "goldens", "sweep")
K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")


def _layers(config):
    return {layer["config"]["name"]: layer["config"] for layer in config["config"]["layers"]}


def _k3_dense(activation):
    return {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
        "name": "s", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 3], "dtype": "float32", "name": "in"}},
            {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "d", "units": 2, "activation": activation,
                        "dtype": "float32", "trainable": True}}]}}


@pytest.mark.parametrize("k3_name, native", [
    ("hard_sigmoid", "keras3_hard_sigmoid"), ("hard_silu", "keras3_hard_silu"),
    ("hard_swish", "keras3_hard_silu"), ("relu", "relu"), ("silu", "silu"), ("gelu", "gelu"),
    ({"module": "keras.activations", "class_name": "function", "config": "hard_sigmoid",
      "registered_name": "hard_sigmoid"}, "keras3_hard_sigmoid")])
def test_keras3_names_read_as_keras3_functions(k3_name, native):
    config, _ = keras3.from_keras3(_k3_dense(k3_name))
    assert _layers(config)["d"]["activation"] == native


def test_native_names_written_for_keras3():
    inp = keras.Input((4, 3))
    x = keras.layers.LSTM(2, recurrent_activation="hard_sigmoid", return_sequences=True,
                          name="lstm")(inp)
    x = keras.layers.Dense(2, activation=activations.keras3_hard_silu, name="silu")(x)
    x = keras.layers.Activation("keras3_hard_sigmoid", name="hs3")(x)
    x = keras.layers.Dense(2, activation="hard_sigmoid", name="hs2")(x)
    model = keras.Model(inp, x)
    out = _layers(keras3.to_keras3(model_to_config(model), None))
    reference = {"module": "builtins", "class_name": "function",
                 "config": "savepoint>keras2_hard_sigmoid", "registered_name": "function"}
    assert out["lstm"]["recurrent_activation"] == reference and out["hs2"]["activation"] == \
        reference
    assert out["silu"]["activation"] == "hard_silu" and out["hs3"]["activation"] == \
        "hard_sigmoid"
    back, _ = keras3.from_keras3(json.loads(json.dumps(keras3.to_keras3(
        model_to_config(model), None))))
    layers = _layers(back)
    assert layers["lstm"]["recurrent_activation"] == "hard_sigmoid"
    assert [layers[n]["activation"] for n in ("silu", "hs3", "hs2")] == [
        "keras3_hard_silu", "keras3_hard_sigmoid", "hard_sigmoid"]


def test_the_two_hard_sigmoids():
    x = torch.tensor([-4.0, -1.0, 0.0, 2.0, 4.0])
    assert activations.get("hard_sigmoid")(x).tolist() == pytest.approx(
        [0.0, 0.3, 0.5, 0.9, 1.0])
    assert activations.get("keras3_hard_sigmoid")(x).tolist() == pytest.approx(
        [0.0, 2 / 6, 0.5, 5 / 6, 1.0])
    assert activations.get("keras3_hard_silu")(x).tolist() == pytest.approx(
        [-0.0, -2 / 6, 0.0, 10 / 6, 4.0])


def test_loads_keras3_model_with_keras3_activations():
    """Keras 3's own .keras file (LSTM recurrent hard_sigmoid, Dense hard_sigmoid/hard_silu,
    Activation hard_swish) predicts what Keras 3 predicted, and round-trips."""
    gold = np.load(os.path.join(GOLDENS, "keras3_activations.npz"))
    model = keras.models.load_model(os.path.join(GOLDENS, "keras3_activations.keras"))
    np.testing.assert_allclose(model.predict(gold["x"], verbose=0), gold["y"], rtol=1e-5,
                               atol=1e-6)
    assert activations.serialize(model.get_layer("lstm").cell.recurrent_activation) == \
        "keras3_hard_sigmoid"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_activations_round_trip(tmp_path, suffix):
    gold = np.load(os.path.join(GOLDENS, "keras3_activations.npz"))
    model = keras.models.load_model(os.path.join(GOLDENS, "keras3_activations.keras"))
    path = str(tmp_path / f"m{suffix}")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(gold["x"], verbose=0),
                                  model.predict(gold["x"], verbose=0))


def test_keras3_lstm_hard_sigmoid_matches_keras3():
    """Forward and gradients of Keras 3's LSTM(recurrent_activation="hard_sigmoid")."""
    g = np.load(os.path.join(GOLDENS, "keras3_lstm_hard_sigmoid.npz"))
    layer = keras.layers.LSTM(3, activation="relu", recurrent_activation="keras3_hard_sigmoid",
                              return_sequences=True)
    x = torch.tensor(g["x"], requires_grad=True)
    layer(x.detach())
    layer.set_weights([g[f"w{i}"] for i in range(3)])
    y = layer(x)
    np.testing.assert_allclose(y.detach().numpy(), g["y0"], rtol=1e-5, atol=1e-6)
    (y * torch.from_numpy(g["r0"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), g["dx"], rtol=1e-5, atol=1e-6)
    for i, w in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(w.value.grad.numpy(), g[f"dw{i}"], rtol=1e-5, atol=1e-6)


_K3_CHECK = """
import os, sys, json, numpy as np
os.environ["KERAS_BACKEND"] = "torch"
import keras
spec = json.loads(sys.argv[1])
try:
    keras.saving.load_model(spec["path"])
    print("LOADED WITHOUT THE FUNCTION")
except Exception as e:
    print("REFUSED", "keras2_hard_sigmoid" in str(e) or "could not be deserialized" in str(e))
exec(spec["code"])
m = keras.saving.load_model(spec["path"])
y = np.asarray(m.predict(np.load(spec["npz"])["x"], verbose=0))
print("MAXDIFF", float(np.abs(y - np.load(spec["npz"])["y"]).max()))
"""


def test_live_keras3_refuses_or_matches_keras2_hard_sigmoid(tmp_path):
    """Keras 3 never computes its own hard_sigmoid for savepoint's Keras 2 one: it refuses the
    file, and with the registered function it predicts savepoint's numbers."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1")
    inp = keras.Input((4, 3))
    x = keras.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True)(inp)
    x = keras.layers.Dense(2, activation="hard_sigmoid")(keras.layers.Flatten()(x))
    model = keras.Model(inp, x)
    xs = np.random.default_rng(0).standard_normal((4, 4, 3)).astype("float32") * 3
    path, npz = str(tmp_path / "m.keras"), str(tmp_path / "m.npz")
    model.save(path)
    np.savez(npz, x=xs, y=model.predict(xs, verbose=0))
    proc = subprocess.run(
        [K3_PYTHON, "-c", _K3_CHECK, json.dumps({"path": path, "npz": npz,
                                                "code": keras3.KERAS2_HARD_SIGMOID})],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="", PYTHONPATH=""))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "REFUSED True" in lines, proc.stdout
    diff = float(next(s for s in lines if s.startswith("MAXDIFF")).split()[1])
    assert diff < 1e-5


VALUES = np.load(os.path.join(GOLDENS, "keras3_activation_values.npz"))


@pytest.mark.parametrize("name", sorted(k for k in VALUES.files if k != "x"))
def test_every_keras3_activation_name_computes_keras3_numbers(name):
    """Each activation name of Keras 3, read through the dialect, gives what Keras 3 gave."""
    config, _ = keras3.from_keras3(_k3_dense(name))
    native = _layers(config)["d"]["activation"]
    out = activations.get(native)(torch.from_numpy(VALUES["x"]))
    np.testing.assert_allclose(out.numpy(), VALUES[name], rtol=1e-5, atol=1e-6)
    written = _layers(keras3.to_keras3(config, None))["d"]["activation"]
    assert written == {"hard_swish": "hard_silu"}.get(name, name)  # a name Keras 3 reads


def test_live_tf_keras_refuses_keras3_hard_sigmoid_in_h5(tmp_path):
    """An .h5 holding Keras 3's hard_sigmoid names it keras3_hard_sigmoid: tf.keras refuses it
    rather than computing its own clip(0.2 x + 0.5)."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1")
    path = str(tmp_path / "m.h5")
    keras.Sequential([keras.Input((3,)),
                      keras.layers.Dense(2, activation="keras3_hard_sigmoid")]).save(path)
    code = ("import sys\nfrom tensorflow import keras\n"
            "try:\n    keras.models.load_model(sys.argv[1]); print('LOADED')\n"
            "except Exception as e:\n    print('REFUSED', 'keras3_hard_sigmoid' in str(e))\n")
    proc = subprocess.run([os.path.join(ROOT, ".venvs", "tf", "bin", "python"), "-c", code, path],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
                                   CUDA_VISIBLE_DEVICES="", PYTHONPATH=""))
    assert "REFUSED True" in proc.stdout.splitlines(), proc.stdout + proc.stderr[-2000:]
