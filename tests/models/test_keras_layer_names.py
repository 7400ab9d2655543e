"""tf.keras 2 layer names with "/" (MobileNetV3's "Conv/BatchNorm", DenseNet's "conv1/bn") in
``.keras`` files: written as U+2215 so that Keras 3 accepts them (checked live in
tests/interop/test_applications_interop.py), read back as "/" with every weight bit for bit."""

import json
import zipfile

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError


def _slash_model():
    """A functional model whose layer, nested-model and output names hold "/"."""
    inner = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="blk/dense"),
                              keras.layers.BatchNormalization(name="blk/bn")], name="blk/seq")
    x = keras.Input((4,), name="in/put")
    a = inner(x)
    b = keras.layers.Dense(3, name="side/dense")(x)
    out = keras.layers.Add(name="merge/add")([a, b * 2.0])
    return keras.Model(x, out, name="model/slash")


def _histories(value):
    """Every ``keras_history`` layer name in a config, wherever it is nested."""
    if isinstance(value, list):
        return [h for v in value for h in _histories(v)]
    if not isinstance(value, dict):
        return []
    if value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"][0]]
    return [h for v in value.values() for h in _histories(v)]


def _layer_names(config):
    return [entry["config"]["name"] for entry in config["config"]["layers"]]


@pytest.mark.parametrize("build", [
    _slash_model,
    lambda: keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3),
                                                classes=5)], ids=["functional", "mobilenet_v3"])
def test_slash_names_round_trip_bit_for_bit(tmp_path, build):
    keras.utils.set_random_seed(3)
    model = build()
    rng = np.random.default_rng(0)
    model.set_weights([a if a.ndim == 0 else rng.uniform(0.5, 1.5, a.shape).astype(a.dtype)
                       for a in model.get_weights()])
    path = str(tmp_path / "m.keras")
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    written = _layer_names(config)
    assert not any("/" in n for n in written)
    assert [n.replace("\u2215", "/") for n in written] == [l.name for l in model.layers]
    loaded = keras.models.load_model(path, compile=False)
    assert loaded.name == model.name
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    for ours, theirs in zip(model.weights, loaded.weights):
        assert ours.name == theirs.name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = rng.uniform(0, 1, (2,) + tuple(model.input_shape[1:])).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_nested_references_are_renamed_consistently(tmp_path):
    model = _slash_model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    text = zipfile.ZipFile(path).read("config.json").decode()
    config = json.loads(text)
    assert config["config"]["input_layers"] == ["in\u2215put", 0, 0]
    assert config["config"]["output_layers"] == ["merge\u2215add", 0, 0]
    inner = next(e for e in config["config"]["layers"] if e["name"] == "blk\u2215seq")
    assert [l["config"]["name"] for l in inner["config"]["layers"]][-2:] == \
        ["blk\u2215dense", "blk\u2215bn"]
    histories = _histories(config)
    assert "in\u2215put" in histories and "blk\u2215seq" in histories
    assert not any("/" in h for h in histories)


def test_a_name_holding_the_stand_in_character_is_refused(tmp_path):
    x = keras.Input((2,))
    model = keras.Model(x, keras.layers.Dense(1, name="odd\u2215name")(x))
    with pytest.raises(ConfigError, match=r"Expected layer names without U\+2215 \(DIVISION "
                                          r"SLASH\).*Received the layer name 'odd\u2215name'\. "
                                          r"Fix: rename the layer"):
        model.save(str(tmp_path / "m.keras"))
