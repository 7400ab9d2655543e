"""Sequential models: the ways tf.keras 2.x code gives the input shape, and deferred building."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import ConfigError, NotBuiltError, ShapeError


def _dense_ref(x, kernel, bias, relu=False):
    out = x @ kernel + bias
    return np.maximum(out, 0) if relu else out


@pytest.mark.parametrize("first", [
    lambda: L.Dense(3, input_shape=(4,)),
    lambda: L.Dense(3, batch_input_shape=(None, 4)),
    lambda: L.Dense(3, input_dim=4),
])
def test_input_shape_on_first_layer_builds_at_construction(first):
    model = keras.Sequential([first(), L.Dense(2)])
    assert model.built
    assert [w.shape for w in model.weights] == [(4, 3), (3,), (3, 2), (2,)]
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert model.inputs[0].shape == (None, 4)
    assert model.outputs[0].shape == (None, 2)


def test_batch_input_shape_keeps_a_fixed_batch_size():
    model = keras.Sequential([L.Dense(3, batch_input_shape=(8, 4))])
    assert model.layers[0].get_config()["batch_input_shape"] == [8, 4]
    assert model.count_params() == 15


@pytest.mark.parametrize("make_input", [
    lambda: keras.Input((4,)),
    lambda: L.InputLayer(input_shape=(4,)),
])
def test_input_first_is_not_a_layer_of_the_model(make_input):
    model = keras.Sequential([make_input(), L.Dense(3, activation="relu"), L.Dense(2)])
    assert model.built
    assert [type(l).__name__ for l in model.layers] == ["Dense", "Dense"]
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2


def test_add_builds_incrementally():
    model = keras.Sequential()
    model.add(keras.Input((5,)))
    model.add(L.Dense(2))
    assert model.count_params() == 12
    model.add(L.Dense(1))
    assert model.count_params() == 15
    model.pop()
    assert [l.name for l in model.layers] == ["dense"]


def test_deferred_build_on_first_call():
    model = keras.Sequential([L.Dense(3), L.Dense(2)])
    assert not model.built
    with pytest.raises(NotBuiltError, match=r"This model has not yet been built\. Build the "
                                             r"model first by calling build\(\)"):
        model.summary()
    with pytest.raises(NotBuiltError, match=r"Model 'sequential' is not built yet"):
        model.count_params()
    x = np.random.rand(5, 7).astype("float32")
    out = model(x)
    assert model.built and out.shape == (5, 2)
    assert model.count_params() == 7 * 3 + 3 + 3 * 2 + 2
    k0, b0, k1, b1 = model.get_weights()
    np.testing.assert_allclose(out.detach().numpy(), (x @ k0 + b0) @ k1 + b1, rtol=1e-5,
                               atol=1e-6)
    lines = []
    model.summary(print_fn=lines.append)
    assert " dense (Dense)               (None, 3)                 24        " in lines


def test_deferred_build_by_build_call():
    model = keras.Sequential([L.Dense(3)])
    model.build((None, 6))
    assert model.count_params() == 21
    assert model.inputs[0].shape == (None, 6)


def test_deferred_model_refuses_a_different_shape_after_build():
    model = keras.Sequential([L.Dense(3), L.Dense(2)])
    model(np.ones((1, 4)))
    with pytest.raises(ShapeError, match=r'Input "sequential" is incompatible with the model: '
                                         r"expected shape=\(None, 4\), found shape=\(1, 5\)"):
        model(np.ones((1, 5)))


def test_build_without_shape_is_refused():
    with pytest.raises(ConfigError, match=r"Sequential.build expected an input_shape, e.g. "
                                          r"\(None, 784\)\. Received None"):
        keras.Sequential([L.Dense(3)]).build()


def test_sequential_names_its_input_after_the_first_layer_like_keras():
    model = keras.Sequential([L.Dense(3, input_shape=(4,))])
    assert model.input_names == ["dense_input"]
    assert model.get_config()["layers"][0]["config"]["name"] == "dense_input"
    deferred = keras.Sequential([L.Dense(3, name="first")])
    deferred(np.ones((2, 4)))
    assert deferred.input_names == ["first_input"]
    # the automatic name did not use up a functional Input name
    assert keras.Input((2,)).name == "input_1"


def test_forward_matches_numpy_reference():
    model = keras.Sequential([L.Dense(5, activation="relu", input_shape=(4,)),
                              L.Dropout(0.5), L.Dense(2)])
    x = np.random.RandomState(0).rand(6, 4).astype("float32")
    k0, b0, k1, b1 = model.get_weights()
    expected = _dense_ref(_dense_ref(x, k0, b0, relu=True), k1, b1)
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # __call__ on a torch tensor gives the same; training=True applies dropout
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)
    torch.manual_seed(0)
    assert not np.allclose(model(x, training=True).detach().numpy(), expected)


def test_adding_a_non_layer_or_a_layer_twice_is_refused():
    model = keras.Sequential()
    with pytest.raises(ConfigError, match=r"Sequential.add expected a savepoint Layer\. "
                                          r"Received: 3 of type int"):
        model.add(3)
    dense = L.Dense(2)
    model.add(dense)
    with pytest.raises(ConfigError, match=r"Layer 'dense' is already in this Sequential model"):
        model.add(dense)
    with pytest.raises(ConfigError, match=r"There are no layers in the model to pop"):
        keras.Sequential().pop()
