"""Models with preprocessing layers round-trip bit for bit through the TF checkpoint, Keras 2
``.h5`` (whole model and weights), Keras 3 ``.keras`` and the model directory, and their layer
configs translate through both dialects."""

import json
import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.saving.mapping.dialects import keras2, keras3
from savepoint.saving.engine.model_config import model_to_config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from saving_model_families import (assert_same_model, preprocessing_model,  # noqa: E402
                                   save_and_reload, trained)


@pytest.fixture(scope="module")
def model_and_data():
    return trained(preprocessing_model)


def test_weights_include_normalization_statistics(model_and_data):
    model, _ = model_and_data
    norm = model.get_layer("norm")
    assert [(w.name, w.shape, str(w.numpy().dtype)) for w in norm.weights] == [
        ("mean", (3,), "float32"), ("variance", (3,), "float32"), ("count", (), "int64")]
    assert int(norm.count.item()) == 16 * 6 * 8
    assert not any(w.trainable for w in norm.weights)


@pytest.mark.parametrize("suffix", ["m.keras", "m.h5", "my_model"])
def test_whole_model_round_trip(tmp_path, model_and_data, suffix):
    model, x = model_and_data
    loaded = save_and_reload(model, str(tmp_path / suffix))
    assert_same_model(model, loaded, x)
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]


@pytest.mark.parametrize("suffix", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_weights_round_trip(tmp_path, model_and_data, suffix):
    model, x = model_and_data
    path = str(tmp_path / suffix)
    model.save_weights(path)
    fresh = preprocessing_model()
    fresh.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fresh.load_weights(path)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))


def _all_layers():
    return [keras.layers.Rescaling(0.5, offset=[1.0, 2.0]),
            keras.layers.Normalization(axis=(1, 2)),
            keras.layers.Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0], invert=True),
            keras.layers.Resizing(3, 4, "area", crop_to_aspect_ratio=True),
            keras.layers.CenterCrop(2, 3), keras.layers.RandomFlip("vertical", seed=3),
            keras.layers.RandomRotation((-0.2, 0.3), "wrap", "nearest", fill_value=1.0),
            keras.layers.RandomZoom(0.2, (-0.1, 0.4)), keras.layers.RandomTranslation(0.1, 0.2),
            keras.layers.RandomContrast((0.1, 0.3)), keras.layers.RandomCrop(2, 2),
            keras.layers.CategoryEncoding(4, "count"),
            keras.layers.Discretization([0.0, 1.0], output_mode="one_hot"), _adapted_bins(),
            keras.layers.StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="int"),
            keras.layers.IntegerLookup(vocabulary=[4, 2], output_mode="count"),
            keras.layers.TextVectorization(vocabulary=["x"], output_sequence_length=2)]


def _adapted_bins():
    layer = keras.layers.Discretization(num_bins=3)
    layer.adapt(np.arange(20.0))
    return layer


@pytest.mark.parametrize("layer", _all_layers(), ids=lambda l: type(l).__name__)
def test_config_round_trips_through_both_dialects(layer):
    native = model_to_config(keras.Sequential([layer]))
    config = json.loads(json.dumps(layer.get_config()))
    back2 = keras2.model_from_keras2(json.loads(json.dumps(keras2.model_to_keras2(native))))
    out3 = json.loads(json.dumps(keras3.to_keras3(native, None)))
    k3_layer = out3["config"]["layers"][0]
    assert k3_layer["module"] == "keras.layers" and "rng_type" not in k3_layer["config"]
    back3, _ = keras3.from_keras3(out3)
    for back in (back2, back3):
        entry = back["config"]["layers"][0]
        rebuilt = type(layer).from_config(entry["config"])
        assert json.loads(json.dumps(rebuilt.get_config())) == config
