"""No silently ignored layer arguments (issue 8): ``activity_regularizer`` on every layer, as
tf-keras computes it; BatchNormalization/LayerNormalization beta/gamma constraints applied;
config values savepoint cannot honour (renorm, virtual_batch_size, adjustment) and unknown
keyword arguments refused.

Goldens: tests/fixtures/goldens/sweep/activity.{json,npz}, made by tools/make_sweep_goldens.py
with REAL tf-keras (model JSON, weights, ``model.losses``, ``evaluate``/``train_on_batch`` losses
and the weights after one SGD step).
"""

import json
import os
import sys

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError, UnknownObjectError
from savepoint.saving.mapping.dialects.keras2 import model_from_keras2, model_to_keras2
from savepoint.saving.mapping.dialects.keras3 import from_keras3, to_keras3
from savepoint.saving.engine.model_config import model_from_config, model_to_config

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "goldens",
                       "sweep")
with open(os.path.join(GOLDENS, "activity.json")) as f:
    META = json.load(f)
ARRAYS = dict(np.load(os.path.join(GOLDENS, "activity.npz")))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from make_sweep_goldens import CASES_ACTIVITY, layer_kwargs, lr_of  # noqa: E402  (the spec)


def _model(case):
    """The model the tool built with tf-keras, built here the same way (tf-keras's own config
    leaves out an Activation layer's activity_regularizer, which tf-keras applied)."""
    spec = next(c for c in CASES_ACTIVITY if c[0] == case)
    layers = []
    for cls, kwargs in spec[1]:
        layers.append(getattr(keras.layers, cls)(**layer_kwargs(keras, kwargs)))
    model = keras.Sequential([keras.Input(spec[2], dtype="int32" if spec[3] else "float32")]
                             + layers)
    count = len([k for k in ARRAYS if k.startswith(f"{case}/w")])
    model.set_weights([ARRAYS[f"{case}/w{i}"] for i in range(count)])
    return model


@pytest.mark.parametrize("case", sorted(META))
def test_activity_losses_match_tf_keras(case):
    model = _model(case)
    x, y = ARRAYS[f"{case}/x"], ARRAYS[f"{case}/y"]
    model(x)
    np.testing.assert_allclose([float(v.detach()) for v in model.losses], ARRAYS[f"{case}/losses"],
                               rtol=1e-5, atol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(lr_of(case)), loss="mse")
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=5, verbose=0),
                               ARRAYS[f"{case}/evaluate"], rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, y), ARRAYS[f"{case}/train"], rtol=1e-5)
    # the regularizer's gradient reached the step, and the constraints projected it
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{case}/after{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(META))
def test_layer_configs_round_trip(case):
    model = _model(case)
    native = model_to_config(model)
    theirs = {layer["config"]["name"]: layer["config"]["activity_regularizer"]
              for layer in META[case]["model_json"]["config"]["layers"]
              if "activity_regularizer" in layer["config"]}
    keras2 = model_to_keras2(native)
    ours = [layer["config"].get("activity_regularizer") for layer in keras2["config"]["layers"]
            if layer["class_name"] != "InputLayer"]
    # tf-keras's configs of the layers that record it; savepoint also keeps Activation's
    expected = [theirs.get(layer["config"]["name"]) for layer in
                META[case]["model_json"]["config"]["layers"][1:]]
    for mine, tf_keras in zip(ours, expected):
        if tf_keras is not None:
            assert mine["class_name"] == tf_keras["class_name"]
            np.testing.assert_allclose(list(mine["config"].values()),
                                       list(tf_keras["config"].values()), rtol=1e-6)
    assert all(r is not None for r, (_, kw) in zip(
        ours, next(c for c in CASES_ACTIVITY if c[0] == case)[1])
        if "activity_regularizer" in kw)
    for back in (model_from_keras2(json.loads(json.dumps(keras2))),
                 from_keras3(json.loads(json.dumps(to_keras3(native, None))))[0]):
        again = model_from_config(back)
        again.set_weights(model.get_weights())
        again(ARRAYS[f"{case}/x"])
        model(ARRAYS[f"{case}/x"])
        np.testing.assert_allclose([float(v.detach()) for v in again.losses],
                                   [float(v.detach()) for v in model.losses], rtol=1e-6)


def test_activity_regularizer_on_any_layer_and_in_fit():
    class Square(keras.layers.Layer):
        def call(self, x):
            return x * x

    model = keras.Sequential([keras.Input((2,)), Square(activity_regularizer="l1")])
    model.add(keras.layers.Dense(2, kernel_initializer="ones"))
    x = np.array([[1.0, -2.0], [3.0, 0.0]], "float32")
    model(x)
    # Keras's "l1" is L1(0.01): 0.01 * sum(|x^2|) / batch of 2
    assert [round(float(v), 6) for v in model.losses] == [round(0.01 * 14 / 2, 6)]
    assert model.layers[0].get_config()["activity_regularizer"]["class_name"] == "L1"
    model.compile("sgd", "mse")
    model.fit(x, x, epochs=2, batch_size=1, verbose=0)  # a fresh loss each batch


def test_unknown_layer_argument_is_refused():
    with pytest.raises(ConfigError, match=r"not understood by Dense: \['activty_regularizer'\]"):
        keras.layers.Dense(2, activty_regularizer="l2")
    with pytest.raises(UnknownObjectError, match=r"Could not locate regularizer 'l7'"):
        keras.layers.Dense(2, activity_regularizer="l7")


def test_conv_activity_regularizer_counted_once():
    layer = keras.layers.Conv1D(2, 2, activity_regularizer=keras.regularizers.L2(0.5))
    out = layer(torch.ones(3, 4, 1))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]),
                               0.5 * float((out ** 2).sum()) / 3, rtol=1e-6)


def test_normalization_constraints_in_configs():
    layer = keras.layers.LayerNormalization(gamma_constraint="non_neg")
    config = layer.get_config()
    assert config["gamma_constraint"]["class_name"] == "NonNeg"
    assert keras.layers.LayerNormalization.from_config(config).gamma_constraint is not None


@pytest.mark.parametrize("key, value", [("renorm", True), ("virtual_batch_size", 4),
                                        ("adjustment", "fn")])
def test_batch_norm_config_values_not_implemented_are_refused(key, value):
    config = keras.layers.BatchNormalization(name="bn").get_config()
    with pytest.raises(ConfigError, match=rf"BatchNormalization 'bn' expected {key}=.*"
                                          rf"Received: {key}="):
        keras.layers.BatchNormalization.from_config({**config, key: value})
    keras.layers.BatchNormalization.from_config({**config, "fused": True, "synchronized": True})


def test_initial_weights_argument_matches_tf_keras():
    """``Embedding(..., weights=[matrix])`` and friends: tf.keras sets them once built."""
    g = {k.split("/")[1]: v for k, v in ARRAYS.items() if k.startswith("initial_weights/")}
    model = keras.Sequential([
        keras.layers.Embedding(6, 3, weights=[g["emb"]], input_length=4),
        keras.layers.LSTM(2, weights=[g[f"lstm{i}"] for i in range(3)], return_sequences=True),
        keras.layers.Flatten(), keras.layers.Dense(2, weights=[g["kernel"], g["bias"]])])
    np.testing.assert_allclose(model.predict(g["x"], verbose=0), g["y"], rtol=1e-5, atol=1e-6)
    dense = keras.layers.Dense(2, weights=[g["kernel"][:3], g["bias"]], input_shape=(3,))
    np.testing.assert_array_equal(dense.get_weights()[0], g["kernel"][:3])
    with pytest.raises(ShapeError, match=r"expected 2 weights, but the given list has 1"):
        keras.layers.Dense(2, weights=[g["kernel"]])(np.ones((1, 8), "float32"))


def test_alpha_dropout_noise_shape_kept_in_config():
    layer = keras.layers.AlphaDropout(0.3, noise_shape=[None, 1, 4], seed=2)
    again = keras.layers.AlphaDropout.from_config(layer.get_config())
    assert again.noise_shape == [None, 1, 4]
    assert "noise_shape" not in keras.layers.AlphaDropout(0.3).get_config()
