"""keras.constraints against real tf.keras (tools/make_constraint_goldens.py): each constraint's
projection, a Dense layer with kernel/bias constraints trained by fit (applied after every
optimizer step), configs from tf.keras, and saving in every format."""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "constraints")
G = np.load(os.path.join(DIR, "values.npz"))
with open(os.path.join(DIR, "cases.json")) as f:
    META = json.load(f)


@pytest.mark.parametrize("case", sorted(META["constraints"]))
def test_constraints_match_tf_keras(case):
    config = META["constraints"][case]
    constraint = keras.constraints.get({"class_name": config["class_name"],
                                        "config": config["config"]})
    for key in ("w2", "w4"):
        np.testing.assert_allclose(constraint(torch.tensor(G[key])).numpy(),
                                   G[f"{case}__{key}"], rtol=1e-5, atol=1e-6)
    assert constraint.get_config() == config["config"]
    assert keras.constraints.serialize(constraint)["class_name"] == config["class_name"]


def _dense_from_tf_config() -> keras.Model:
    model_json = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "dtype": "float32", "name": "input_1"}},
        {"class_name": "Dense", "config": META["dense_config"]}]}}
    return keras.models.model_from_json(json.dumps(model_json))


def test_dense_with_constraints_trains_like_tf_keras():
    model = _dense_from_tf_config()
    layer = model.layers[-1]
    assert isinstance(layer.kernel_constraint, keras.constraints.MaxNorm)
    assert layer.kernel_constraint.max_value == 0.6
    assert isinstance(layer.bias_constraint, keras.constraints.NonNeg)
    model.set_weights([G["kernel0"], G["bias0"]])
    model.compile(keras.optimizers.SGD(0.3), "mse")
    model.fit(G["x"], G["y"], batch_size=4, epochs=1, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, G["kernel1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, G["bias1"], rtol=1e-5, atol=1e-6)
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.6 + 1e-6) and np.all(bias >= 0)


def test_apply_gradients_projects_too():
    layer = keras.layers.Dense(2, kernel_constraint="non_neg")
    layer.build((None, 2))
    opt = keras.optimizers.SGD(1.0)
    opt.apply_gradients([(torch.ones(2, 2) * 10, layer.weights[0]), (torch.zeros(2),
                                                                      layer.weights[1])])
    assert float(layer.kernel.detach().min()) == 0.0


@pytest.mark.parametrize("suffix", ["m.h5", "m.keras", "m_dir"])
def test_constraints_round_trip_in_every_format(tmp_path, suffix):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Dense(3, input_shape=(4,), kernel_constraint=keras.constraints.MaxNorm(1.5),
                           bias_constraint=keras.constraints.MinMaxNorm(0.1, 0.9, rate=0.5)),
        keras.layers.Dense(1, kernel_constraint=keras.constraints.UnitNorm(axis=0))])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    path = str(tmp_path / suffix)
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.layers, loaded.layers):
        for key in ("kernel_constraint", "bias_constraint"):
            assert a.get_config()[key] == b.get_config()[key]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(x, x[:, :1], epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, x[:, :1], epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_top_level_modules():
    assert keras.regularizers.l2 is keras.regularizers.L2
    assert keras.initializers.glorot_uniform is keras.initializers.GlorotUniform
    assert keras.activations.relu(torch.tensor([-1.0, 1.0])).tolist() == [0.0, 1.0]
    assert keras.constraints.max_norm is keras.constraints.MaxNorm
    with pytest.raises(AttributeError, match="module 'savepoint.activations' has no attribute "
                                             "'nope'"):
        keras.activations.nope  # noqa: B018


def test_errors():
    with pytest.raises(ConfigError, match="MinMaxNorm expected min_value <= max_value. "
                                          "Received: min_value=2, max_value=1"):
        keras.constraints.MinMaxNorm(2, 1)
    with pytest.raises(ConfigError, match="Could not interpret constraint identifier"):
        keras.constraints.get(3)


def test_embedding_constraint_is_applied_and_saved(tmp_path):
    model = keras.Sequential([
        keras.layers.Embedding(10, 4, input_length=3,
                               embeddings_constraint=keras.constraints.UnitNorm(axis=1)),
        keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    x = np.array([[1, 2, 3], [4, 5, 6]])
    model.fit(x, np.ones((2, 1)), epochs=2, verbose=0)
    table = model.layers[0].get_weights()[0]
    np.testing.assert_allclose(np.linalg.norm(table[1:7], axis=1), 1.0, rtol=1e-5)
    path = str(tmp_path / "e.h5")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[0].embeddings_constraint, keras.constraints.UnitNorm)
