"""Core layers: Dense, Dropout, Activation, Flatten, Reshape, InputLayer and Input."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Layer,
                              Reshape)


# ----- Dense ------------------------------------------------------------------------------
def test_dense_weights_names_shapes_and_params():
    layer = Dense(512, input_shape=(784,))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(784, 512), (512,)]
    assert layer.count_params() == 784 * 512 + 512
    assert layer.name == "dense"
    assert Dense(3).name == "dense_1"


def test_dense_matches_numpy(rng):
    x = rng.normal(size=(5, 4)).astype("float32")
    layer = Dense(3, activation="relu")
    out = layer(x).detach().numpy()
    k, b = layer.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ k + b, 0), rtol=1e-5, atol=1e-6)


def test_dense_on_3d_and_torch_and_float64_inputs(rng):
    layer = Dense(2, use_bias=False)
    x = rng.normal(size=(2, 3, 4))
    out = layer(torch.from_numpy(x))  # float64 torch input is cast to float32
    assert out.dtype == torch.float32 and out.shape == (2, 3, 2)
    np.testing.assert_allclose(out.detach().numpy(), x @ layer.get_weights()[0], rtol=1e-5,
                               atol=1e-6)
    assert [w.name for w in layer.weights] == ["kernel"]


def test_dense_default_initializers():
    layer = Dense(200)
    layer.build((None, 300))
    k, b = layer.get_weights()
    limit = np.sqrt(6 / (300 + 200))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert not b.any()


def test_dense_errors():
    with pytest.raises(ConfigError, match=r"Dense expected `units` to be a positive int. "
                                          r"Received: 0"):
        Dense(0)
    layer = Dense(2)
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ShapeError, match=r"expected axis -1 of input shape to have value 3, "
                                         r"but received input with shape \(1, 4\)"):
        layer(np.ones((1, 4), "float32"))
    with pytest.raises(ShapeError, match=r"expected the last input dimension to be known"):
        Dense(2).build((None, None))
    with pytest.raises(ConfigError, match=r"Keyword argument\(s\) not understood by Dense: "
                                          r"\['unitz'\]"):
        Dense(2, unitz=3)


def test_dense_roundtrip(roundtrip, rng):
    layer = Dense(3, activation="tanh", use_bias=True, kernel_regularizer="l2")
    roundtrip(layer, rng.normal(size=(2, 4)).astype("float32"))
    assert layer.get_config()["units"] == 3 and layer.get_config()["activation"] == "tanh"


def test_dense_in_sequential_and_functional(rng):
    model = keras.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)])
    assert model.count_params() == (3 * 4 + 4) + (4 * 2 + 2)
    assert model.predict(rng.normal(size=(5, 3)), verbose=0).shape == (5, 2)
    x = Input((3,))
    fmodel = keras.Model(x, Dense(2)(Dense(4)(x)))
    assert fmodel.predict(np.ones((1, 3)), verbose=0).shape == (1, 2)


# ----- Dropout ----------------------------------------------------------------------------
def test_dropout_inference_is_identity(rng):
    x = rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_array_equal(Dropout(0.5)(x).numpy(), x)
    np.testing.assert_array_equal(Dropout(0.5)(x, training=False).numpy(), x)


def test_dropout_training_zeroes_rate_fraction_and_scales():
    torch.manual_seed(0)
    x = torch.ones(200, 100)
    out = Dropout(0.3)(x, training=True)
    zero_fraction = (out == 0).float().mean().item()
    assert 0.27 < zero_fraction < 0.33
    kept = out[out != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.7))


def test_dropout_training_flag_flows_through_model():
    torch.manual_seed(0)
    model = keras.Sequential([Dropout(0.5, input_shape=(1000,))])
    x = torch.ones(2, 1000)
    assert torch.equal(model(x), x)
    assert (model(x, training=True) == 0).any()


def test_dropout_errors_and_roundtrip(roundtrip):
    with pytest.raises(ConfigError, match=r"Dropout expected `rate` in \[0, 1\). Received: 1.5"):
        Dropout(1.5)
    layer = Dropout(0.25, seed=3)
    roundtrip(layer, np.ones((2, 3), "float32"))
    assert layer.get_config()["rate"] == 0.25
    assert layer.compute_output_shape((None, 3)) == (None, 3)


# ----- Activation -------------------------------------------------------------------------
@pytest.mark.parametrize("name,ref", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("linear", lambda x: x),
])
def test_activation_layer(name, ref, rng):
    x = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(Activation(name)(x).numpy(), ref(x), rtol=1e-5, atol=1e-6)


def test_activation_errors_and_roundtrip(roundtrip):
    with pytest.raises(ConfigError, match=r"Unknown activation 'nope'. Expected one of:"):
        Activation("nope")
    roundtrip(Activation("relu"), np.array([[-1.0, 2.0]], "float32"))


# ----- Flatten / Reshape ------------------------------------------------------------------
def test_flatten_channels_last_and_first(rng):
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(Flatten()(x).numpy(), x.reshape(2, -1))
    first = Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(first, np.moveaxis(x, 1, -1).reshape(2, -1))
    assert Flatten().compute_output_shape((None, 3, 4, 5)) == (None, 60)
    assert Flatten().compute_output_shape((None, None, 4)) == (None, None)


def test_flatten_in_sequential_and_roundtrip(roundtrip):
    model = keras.Sequential([Flatten(input_shape=(28, 28)), Dense(10)])
    assert model.count_params() == 7850
    assert model.layers[0].output_shape == (None, 784)
    roundtrip(Flatten(), np.ones((2, 3, 2), "float32"))


def test_reshape(rng, roundtrip):
    x = rng.normal(size=(2, 12)).astype("float32")
    np.testing.assert_array_equal(Reshape((3, 4))(x).numpy(), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(Reshape((-1, 2))(x).numpy(), x.reshape(2, 6, 2))
    assert Reshape((-1, 2)).compute_output_shape((None, 12)) == (None, 6, 2)
    assert Reshape((3, 4)).compute_output_shape((None, 12)) == (None, 3, 4)
    roundtrip(Reshape((2, 6)), x)


def test_reshape_errors():
    with pytest.raises(ConfigError, match=r"Reshape expected at most one -1 in target_shape"):
        Reshape((-1, -1))
    with pytest.raises(ShapeError, match=r"cannot reshape input of shape \(2, 12\) to "
                                         r"target_shape \(5,\)"):
        Reshape((5,))(np.ones((2, 12), "float32"))


# ----- InputLayer / Input -----------------------------------------------------------------
def test_input_names_shapes_and_dtypes():
    a = Input(shape=(784,))
    b = Input(shape=(3,), dtype="int32", name="ids")
    assert a.shape == (None, 784) and a.dtype == "float32" and a.name == "input_1"
    assert b.shape == (None, 3) and b.dtype == "int32" and b.name == "ids"
    assert Input(shape=(2,), batch_size=8).shape == (8, 2)
    assert Input(batch_shape=(None, 5, 2)).shape == (None, 5, 2)


def test_input_layer_config_roundtrip():
    layer = InputLayer(input_shape=(4,))
    config = layer.get_config()
    assert config == {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                      "ragged": False, "name": "input_1"}
    rebuilt = InputLayer.from_config(config)
    assert rebuilt.get_config() == config and rebuilt.output.shape == (None, 4)


def test_input_layer_requires_a_shape():
    with pytest.raises(ConfigError, match=r"InputLayer expected `shape` or "
                                          r"`batch_input_shape`. Received neither"):
        InputLayer()


def test_sequential_with_input_layer_first(rng):
    model = keras.Sequential([InputLayer(input_shape=(3,)), Dense(2)])
    assert model.count_params() == 8
    assert model.predict(rng.normal(size=(2, 3)), verbose=0).shape == (2, 2)


def test_layer_not_built_errors():
    with pytest.raises(keras.errors.NotBuiltError, match=r"Layer 'dense' is not built yet"):
        Dense(2).count_params()


def test_set_weights_checks_every_shape_first():
    layer = Dense(2)
    layer.build((None, 3))
    before = layer.get_weights()
    with pytest.raises(ShapeError, match=r'variable "bias": expected \(2,\), received \(3,\)'):
        layer.set_weights([np.ones((3, 2)), np.ones(3)])
    for old, now in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, now)
    with pytest.raises(ShapeError, match=r"expected 2 weights, but the given list has 1"):
        layer.set_weights([np.ones((3, 2))])


def test_custom_layer_add_weight_order():
    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
            self.c = self.add_weight("c", (), initializer="zeros", trainable=False)

        def call(self, x):
            return x * self.w + self.c

    layer = Scale()
    np.testing.assert_array_equal(layer(np.full((1, 2), 3.0, "float32")).detach().numpy(),
                                  [[3.0, 3.0]])
    assert [w.name for w in layer.trainable_weights] == ["w"]
    assert [w.name for w in layer.non_trainable_weights] == ["c"]


def test_dropout_noise_shape_shares_the_mask():
    torch.manual_seed(0)
    out = Dropout(0.5, noise_shape=(None, 1, 4))(torch.ones(3, 5, 4), training=True)
    # one mask per (sample, feature), broadcast over the 5 steps
    assert torch.equal(out, out[:, :1, :].expand(3, 5, 4))
    assert set(out.unique().tolist()) <= {0.0, 2.0} and (out == 0).any() and (out == 2).any()
    assert Dropout(0.5, noise_shape=[None, 1, 4]).get_config()["noise_shape"] == [None, 1, 4]
