"""The model surface Keras users rely on: layers, get_layer, weights order, get/set_weights,
count_params, trainable freezing, summary text and config round trips."""

import json

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import ConfigError, ShapeError

TUTORIAL_SUMMARY = """\
Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 dense (Dense)               (None, 512)               401920    
                                                                 
 dropout (Dropout)           (None, 512)               0         
                                                                 
 dense_1 (Dense)             (None, 10)                5130      
                                                                 
=================================================================
Total params: 407050 (1.55 MB)
Trainable params: 407050 (1.55 MB)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
"""


def _tutorial_model():
    return keras.models.Sequential([
        keras.layers.Dense(512, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10)])


def _small():
    return keras.Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dropout(0.1),
                             L.Dense(2)])


def test_tutorial_summary_text_matches_keras(capsys):
    model = _tutorial_model()
    model.summary()
    assert capsys.readouterr().out == TUTORIAL_SUMMARY
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) + "\n" == TUTORIAL_SUMMARY


def test_summary_counts_frozen_weights_as_non_trainable():
    model = _small()
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:-1] == ["Total params: 26 (104.00 Byte)", "Trainable params: 10 (40.00 Byte)",
                            "Non-trainable params: 16 (64.00 Byte)"]


def test_functional_summary_lists_the_input_layer():
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2)(x), name="f")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[:7] == [
        'Model: "f"',
        "_" * 65,
        " Layer (type)                Output Shape              Param #   ",
        "=" * 65,
        " input_1 (InputLayer)        [(None, 3)]               0         ",
        " " * 65,
        " dense (Dense)               (None, 2)                 8         "]


def test_layers_and_get_layer():
    model = _small()
    assert [l.name for l in model.layers] == ["dense", "dropout", "dense_1"]
    assert model.get_layer("dropout") is model.layers[1]
    assert model.get_layer(index=-1) is model.layers[2]
    assert model.get_layer(index=0).name == "dense"
    with pytest.raises(ConfigError, match=r"No such layer: dense_9\. Existing layers are: "
                                          r"\['dense', 'dropout', 'dense_1'\]"):
        model.get_layer("dense_9")
    with pytest.raises(ConfigError, match=r"Was asked to retrieve layer at index 3 but model "
                                          r"only has 3 layers"):
        model.get_layer(index=3)


def test_weights_are_in_keras_order_layer_by_layer():
    model = _small()
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                               "dense_1/bias"]
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias", "kernel", "bias"]
    assert model.non_trainable_weights == []
    assert [tuple(w.shape) for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    assert all(isinstance(w, np.ndarray) and w.dtype == np.float32 for w in model.get_weights())
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    # Keras initial values: glorot_uniform kernel within its limit, zero bias
    limit = np.sqrt(6 / (3 + 4))
    kernel, bias = model.layers[0].get_weights()
    assert np.abs(kernel).max() <= limit and np.all(bias == 0)


def test_get_set_weights_round_trip():
    model = _small()
    rng = np.random.RandomState(0)
    new = [rng.rand(*w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    x = rng.rand(2, 3).astype("float32")
    expected = np.maximum(x @ new[0] + new[1], 0) @ new[2] + new[3]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # get_weights returns copies: mutating them does not touch the model
    got = model.get_weights()
    got[0][:] = 0
    assert not np.all(model.get_weights()[0] == 0)


def test_wrong_set_weights_leaves_every_weight_untouched():
    model = _small()
    before = model.get_weights()
    bad = [np.ones_like(w) for w in before]
    bad[3] = np.ones((5,), "float32")
    with pytest.raises(ShapeError, match=r'Shape mismatch for layer "sequential" variable '
                                         r'"dense_1/bias": expected \(2,\), received \(5,\)'):
        model.set_weights(bad)
    with pytest.raises(ShapeError, match=r"Layer 'sequential' expected 4 weights, but the given "
                                         r"list has 2 \(\[\(3, 4\), \(4,\)\]\)"):
        model.set_weights(bad[:2])
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ShapeError, match=r'Shape mismatch for layer "dense" variable "kernel": '
                                         r"expected \(3, 4\), received \(4, 3\)"):
        model.layers[0].set_weights([np.ones((4, 3)), np.ones(4)])


def test_trainable_false_moves_weights_and_freezes_them_in_fit():
    model = _small()
    model.layers[0].trainable = False
    assert [w.path for w in model.trainable_weights] == ["dense_1/kernel", "dense_1/bias"]
    assert [w.path for w in model.non_trainable_weights] == ["dense/kernel", "dense/bias"]
    # model.weights (and get_weights) stay in layer order, as tf.keras's Model.weights
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                               "dense_1/bias"]
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.get_weights()
    x = np.random.RandomState(0).rand(16, 3).astype("float32")
    model.fit(x, np.arange(16) % 2, epochs=2, batch_size=4, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])


def test_whole_model_frozen_fits_without_changing_anything():
    model = _small()
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    assert all(not p.requires_grad for p in model.parameters())
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.get_weights()
    x = np.random.RandomState(0).rand(8, 3).astype("float32")
    with pytest.warns(UserWarning, match=r"The model does not have any trainable weights"):
        history = model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 1
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    model.trainable = True
    assert len(model.trainable_weights) == 4 and all(l.trainable for l in model.layers)


def test_call_on_numpy_and_tensors_agree():
    model = _small()
    x = np.random.RandomState(5).rand(3, 3)
    from_numpy = model(x)
    assert isinstance(from_numpy, torch.Tensor) and from_numpy.dtype == torch.float32
    from_tensor = model(torch.tensor(x))
    np.testing.assert_array_equal(from_numpy.detach().numpy(), from_tensor.detach().numpy())
    np.testing.assert_array_equal(model.predict_on_batch(x), from_numpy.detach().numpy())


def test_sequential_config_round_trip_gives_same_predictions():
    model = _small()
    config = model.get_config()
    json.dumps(config)  # JSON-able
    assert [l["class_name"] for l in config["layers"]] == ["InputLayer", "Dense", "Dropout",
                                                          "Dense"]
    rebuilt = keras.Sequential.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt.set_weights(model.get_weights())
    x = np.random.RandomState(6).rand(4, 3).astype("float32")
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unknown_constructor_kwargs_are_refused():
    with pytest.raises(ConfigError, match=r"Keyword argument\(s\) not understood by Dense: "
                                          r"\['unitz'\]\. Remove them or check their spelling"):
        L.Dense(3, unitz=4)
    with pytest.raises(ConfigError, match=r"Keyword argument\(s\) not understood by Sequential: "
                                          r"\['foo'\]"):
        keras.Sequential([], foo=1)
    with pytest.raises(ConfigError, match=r"Keyword argument\(s\) not understood by Model: "
                                          r"\['bar'\]"):
        keras.Model(bar=1)
