"""keras.activations on a symbolic KerasTensor record TF-op layers, as tf.keras 2 does (issue 8):
the functions stay the very objects of savepoint.layers.activations, the models they build predict
what the functions compute eagerly, and round-trip through ``.h5``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.layers import activations as impl


def activation_model() -> keras.Model:
    """relu(max_value=6) -> Dense -> sigmoid, and softmax(axis=-1), plus a slice."""
    keras.backend.clear_session()
    x = keras.Input((4,), name="x")
    a = keras.activations.relu(x, max_value=6.)
    h = keras.layers.Dense(5, name="dense")(a)
    s = keras.activations.sigmoid(h)
    out = keras.activations.softmax(s[:, 1:] * 3.0, axis=-1)
    return keras.Model(x, out)


def _expected(model: keras.Model, x: np.ndarray) -> np.ndarray:
    kernel, bias = (torch.as_tensor(w) for w in model.get_layer("dense").get_weights())
    a = impl.relu(torch.as_tensor(x), max_value=6.)
    s = impl.sigmoid(a @ kernel + bias)
    return impl.softmax(s[:, 1:] * 3.0, axis=-1).numpy()


def test_identity_kept():
    assert keras.activations.relu is impl.relu
    assert keras.activations.softmax is impl.softmax


@pytest.mark.parametrize("name, args, functions", [
    ("relu", {}, ["nn.relu"]), ("relu", {"max_value": 6.0}, ["nn.relu6"]),
    ("sigmoid", {}, ["math.sigmoid"]), ("tanh", {}, ["math.tanh"]),
    ("softmax", {"axis": -1}, ["nn.softmax"]), ("swish", {}, ["nn.silu"]),
    ("gelu", {}, ["nn.gelu"]), ("gelu", {"approximate": True}, ["nn.gelu"]),
    ("elu", {}, ["nn.elu"]), ("selu", {}, ["nn.selu"]), ("softplus", {}, ["math.softplus"]),
    ("softsign", {}, ["nn.softsign"]), ("exponential", {}, ["math.exp"]),
    ("hard_sigmoid", {}, ["math.multiply", "math.add", "clip_by_value"]),
    ("mish", {}, ["math.softplus", "math.tanh", "math.multiply"]),
    ("log_softmax", {}, ["nn.log_softmax"]), ("relu6", {}, ["nn.relu6"]),
    ("leaky_relu", {"alpha": 0.3}, ["nn.leaky_relu"]), ("linear", {}, []),
])
def test_records_the_tf_op_and_predicts_as_eager(name, args, functions):
    """The op layers are the ones tf.keras 2.21 records (checked live for its names)."""
    keras.backend.clear_session()
    x = keras.Input((4,))
    model = keras.Model(x, getattr(keras.activations, name)(x, **args))
    assert [layer.get_config()["function"] for layer in model.layers[1:]] == functions
    data = np.random.default_rng(0).normal(size=(3, 4)).astype("float32") * 3
    expected = getattr(impl, name)(torch.as_tensor(data), **args).numpy()
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_unsupported_symbolic_relu_arguments_raise():
    x = keras.Input((4,))
    with pytest.raises(ConfigError, match="supports alpha=0, threshold=0.*Received alpha=0.5"):
        keras.activations.relu(x, alpha=0.5)


def test_functional_model_predicts_and_round_trips_h5(tmp_path):
    model = activation_model()
    data = np.random.default_rng(1).normal(size=(6, 4)).astype("float32") * 4
    pred = model.predict(data, verbose=0)
    np.testing.assert_allclose(pred, _expected(model, data), rtol=1e-6, atol=1e-6)
    model.save(str(tmp_path / "m.h5"))
    loaded = keras.models.load_model(str(tmp_path / "m.h5"), compile=False)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), pred)
