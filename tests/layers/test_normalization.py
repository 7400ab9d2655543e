"""BatchNormalization and LayerNormalization against their formulas, computed in numpy."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import BatchNormalization, Dense, Input, LayerNormalization


def _randomize(layer, rng):
    layer.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype("float32")
                       for w in layer.weights])


# ----- BatchNormalization -----------------------------------------------------------------
def test_bn_weights_and_param_counts():
    layer = BatchNormalization()
    layer.build((None, 64))
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("gamma", (64,)), ("beta", (64,)), ("moving_mean", (64,)), ("moving_variance", (64,))]
    assert layer.count_params() == 256
    assert sum(np.prod(w.shape) for w in layer.non_trainable_weights) == 128
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    g, b, m, v = layer.get_weights()
    assert (g == 1).all() and (b == 0).all() and (m == 0).all() and (v == 1).all()
    assert layer.momentum == 0.99 and layer.epsilon == 1e-3


def test_bn_in_sequential_after_conv_counts_like_keras():
    model = keras.Sequential([keras.layers.Conv2D(64, 3, input_shape=(8, 8, 1)),
                              BatchNormalization()])
    bn = model.layers[1]
    assert bn.name == "batch_normalization" and bn.count_params() == 256
    assert model.count_params() == 640 + 256
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 128


def test_bn_inference_formula(rng):
    x = rng.normal(size=(6, 4)).astype("float32")
    layer = BatchNormalization(epsilon=0.01)
    layer.build((None, 4))
    _randomize(layer, rng)
    g, b, m, v = layer.get_weights()
    out = layer(x, training=False).detach().numpy()
    np.testing.assert_allclose(out, (x - m) / np.sqrt(v + 0.01) * g + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.get_weights()[2], m)   # inference never updates


def test_bn_training_formula_and_moving_update(rng):
    x = rng.normal(loc=2.0, scale=3.0, size=(2, 3, 3, 4)).astype("float32")
    layer = BatchNormalization(momentum=0.9)
    layer.build((None, 3, 3, 4))
    _randomize(layer, rng)
    g, b, m, v = [w.astype(np.float64) for w in layer.get_weights()]
    out = layer(x, training=True).detach().numpy()
    xd = x.astype(np.float64)
    mean, var = xd.mean(axis=(0, 1, 2)), xd.var(axis=(0, 1, 2))   # biased variance
    np.testing.assert_allclose(out, (xd - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-4,
                               atol=1e-4)
    new_m, new_v = layer.get_weights()[2:]
    np.testing.assert_allclose(new_m, m * 0.9 + mean * 0.1, rtol=1e-5, atol=1e-6)
    # 4D channels-last input: tf.keras's fused kernel stores the unbiased variance (n/(n-1),
    # n = 18 values per channel); verified against real TF in tests/saving/test_tf_golden_models
    np.testing.assert_allclose(new_v, v * 0.9 + var * 18 / 17 * 0.1, rtol=1e-5, atol=1e-6)


def test_bn_channels_first_axis(rng):
    x = rng.normal(size=(3, 2, 4, 4)).astype("float32")
    layer = BatchNormalization(axis=1, momentum=0.5)
    out = layer(x, training=True).detach().numpy()
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    assert layer.moving_mean.shape == (2,)
    np.testing.assert_allclose(layer.get_weights()[2], 0.5 * mean.ravel(), rtol=1e-5, atol=1e-6)
    assert layer.get_config()["axis"] == [1]


def test_bn_trainable_false_runs_in_inference_mode(rng):
    x = rng.normal(loc=5.0, size=(8, 3)).astype("float32")
    layer = BatchNormalization()
    layer.build((None, 3))
    layer.trainable = False
    out = layer(x, training=True).detach().numpy()
    np.testing.assert_allclose(out, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    assert (layer.get_weights()[2] == 0).all() and (layer.get_weights()[3] == 1).all()
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_bn_center_scale_off():
    layer = BatchNormalization(center=False, scale=False)
    layer.build((None, 5))
    assert [w.name for w in layer.weights] == ["moving_mean", "moving_variance"]
    assert layer.count_params() == 10


def _bn_model():
    model = keras.Sequential([Dense(4, input_shape=(3,)), BatchNormalization(),
                              Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_bn_moving_stats_change_in_fit_but_not_in_predict_or_evaluate(rng):
    model = _bn_model()
    bn = model.layers[1]
    x = rng.normal(loc=3.0, size=(16, 3)).astype("float32")
    y = rng.integers(0, 2, size=16)
    before = bn.get_weights()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    for old, now in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(old, now)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    g, b, m, v = bn.get_weights()
    assert not np.array_equal(m, before[2]) and not np.array_equal(v, before[3])
    assert not np.array_equal(g, before[0])          # gamma learns through the optimizer
    after_fit = bn.get_weights()
    model.predict(x, verbose=0)
    for old, now in zip(after_fit, bn.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_bn_moving_stats_match_formula_after_one_fit_step(rng):
    model = _bn_model()
    dense, bn = model.layers[0], model.layers[1]
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.integers(0, 2, size=8)
    h1 = (x @ dense.get_weights()[0] + dense.get_weights()[1]).astype(np.float64)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    m, v = bn.get_weights()[2:]
    np.testing.assert_allclose(m, 0.01 * h1.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(v, 0.99 + 0.01 * h1.var(0), rtol=1e-5, atol=1e-6)


def test_bn_functional_and_numpy_torch_inputs(rng):
    x = Input((3,))
    model = keras.Model(x, BatchNormalization()(x))
    data = rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(torch.from_numpy(data), verbose=0),
                               data / np.sqrt(1 + 1e-3), rtol=1e-5)


def test_bn_config_roundtrip(roundtrip, rng):
    layer = BatchNormalization(momentum=0.9, epsilon=1e-2, gamma_initializer="random_normal")
    x = rng.normal(size=(4, 3)).astype("float32")
    layer(x, training=True)
    rebuilt = roundtrip(layer, x)
    config = layer.get_config()
    assert config["axis"] == [1] and config["momentum"] == 0.9 and config["epsilon"] == 1e-2
    assert config["center"] is True and config["scale"] is True
    assert config["moving_variance_initializer"]["class_name"] == "Ones"
    assert rebuilt.get_weights()[2].tolist() == layer.get_weights()[2].tolist()
    assert BatchNormalization().get_config()["axis"] == -1
    # tf.keras 2 configs carry keys savepoint has no use for; they are accepted.
    BatchNormalization.from_config({**config, "fused": None, "renorm": False})


def test_bn_errors():
    with pytest.raises(ConfigError, match=r"BatchNormalization expected `momentum` in \[0, 1\]. "
                                          r"Received: momentum=1.5"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ConfigError, match=r"BatchNormalization expected `axis` to be an int or "
                                          r"a list of ints. Received: axis='x'"):
        BatchNormalization(axis="x")
    with pytest.raises(ConfigError, match=r"expected `epsilon` > 0. Received: epsilon=0"):
        BatchNormalization(epsilon=0)
    with pytest.raises(ShapeError, match=r"invalid axis 0 for an input of rank 2"):
        BatchNormalization(axis=0).build((None, 3))
    with pytest.raises(ShapeError, match=r"expected input dimension\(s\) \[1\] to be known"):
        BatchNormalization().build((None, None))
    layer = BatchNormalization()
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ShapeError, match=r"expected ndim=2, found ndim=3"):
        layer(np.ones((2, 3, 3), "float32"))


# ----- LayerNormalization -----------------------------------------------------------------
def test_layer_norm_formula(rng):
    x = rng.normal(loc=1.0, scale=2.0, size=(3, 5, 4)).astype("float32")
    layer = LayerNormalization()
    layer.build((None, 5, 4))
    _randomize(layer, rng)
    g, b = layer.get_weights()
    out = layer(x).detach().numpy()
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-4,
                               atol=1e-4)
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (4,)), ("beta", (4,))]
    assert layer.epsilon == 1e-3


def test_layer_norm_multiple_axes_and_training_independent(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    layer = LayerNormalization(axis=[1, 2], epsilon=1e-5)
    out = layer(x, training=True).detach().numpy()
    mean, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)
    assert layer.gamma.shape == (3, 4) and layer.count_params() == 24
    np.testing.assert_array_equal(layer(x, training=False).detach().numpy(), out)


def test_layer_norm_in_models_and_roundtrip(roundtrip, rng):
    model = keras.Sequential([Dense(6, input_shape=(3,)), LayerNormalization()])
    assert model.layers[1].name == "layer_normalization" and model.layers[1].count_params() == 12
    x = Input((4, 3))
    y = LayerNormalization(center=False)(x)
    assert y.shape == (None, 4, 3)
    layer = LayerNormalization(axis=-1, scale=False)
    roundtrip(layer, rng.normal(size=(2, 3)).astype("float32"))
    assert [w.name for w in layer.weights] == ["beta"]
    assert layer.get_config()["axis"] == [1]


def test_layer_norm_errors():
    with pytest.raises(ConfigError, match=r"LayerNormalization expected `axis` to be an int or "
                                          r"a list of ints"):
        LayerNormalization(axis=None)
    with pytest.raises(ShapeError, match=r"invalid axis 3 for an input of rank 2"):
        LayerNormalization(axis=3)(np.ones((2, 3), "float32"))


def test_cnn_with_all_image_layers_config_roundtrip(rng):
    import json
    L = keras.layers
    model = keras.Sequential([L.Conv2D(4, 3, padding="same", input_shape=(6, 6, 2)),
                              BatchNormalization(), L.MaxPooling2D(), L.AveragePooling2D(1),
                              L.GlobalAveragePooling2D(), LayerNormalization(), Dense(2)])
    x = rng.normal(size=(3, 6, 6, 2)).astype("float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, 2, size=3), epochs=1, verbose=0)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = keras.Sequential.from_config(config)
    assert json.loads(json.dumps(rebuilt.get_config())) == config
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.path for w in model.weights][2:6] == [
        "batch_normalization/gamma", "batch_normalization/beta",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance"]
