"""model.export(format="tfjs"): the TF.js Layers artifacts themselves (model.json fields, the
Keras 2 topology, the weights manifest and the shards' bytes, bit for bit) and the export-time
errors for what tfjs-layers cannot run. TF.js itself loads them in
tests/interop/test_tfjs_interop.py."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import savepoint as keras
from export_families import FAMILIES, TFJS_FAMILIES, build
from savepoint.errors import ConfigError
from savepoint.exports import tfjs

L = keras.layers


def _read(d: str) -> tuple[dict, bytes]:
    doc = json.loads(open(os.path.join(d, "model.json")).read())
    data = b"".join(open(os.path.join(d, p), "rb").read()
                    for group in doc["weightsManifest"] for p in group["paths"])
    return doc, data


@pytest.mark.parametrize("family", sorted(TFJS_FAMILIES))
def test_artifacts_hold_topology_and_every_weight_bit_for_bit(tmp_path, family):
    model = build(TFJS_FAMILIES[family])
    d = str(tmp_path / family)
    model.export(d, format="tfjs")
    doc, data = _read(d)
    assert doc["format"] == "layers-model"
    assert doc["generatedBy"] == "keras v2.21.0"
    assert doc["convertedBy"] == f"savepoint v{keras.__version__}"
    topology = doc["modelTopology"]
    assert topology["keras_version"] == "2.21.0" and topology["backend"] == "tensorflow"
    config = json.loads(model.to_json())
    if family != "mobilenet":  # the one with global pooling keepdims=True (rewritten)
        assert topology["model_config"] == config
    [group] = doc["weightsManifest"]
    assert sorted(os.listdir(d)) == sorted(group["paths"] + ["model.json"])
    layer_weights = [v for layer in model.layers
                     for v in list(layer.trainable_weights) + list(layer.non_trainable_weights)]
    assert [w["name"] for w in group["weights"]] == [v.path for v in layer_weights]
    offset = 0
    for entry, var in zip(group["weights"], layer_weights):
        value = var.value.detach().numpy()
        assert entry["shape"] == list(value.shape) and entry["dtype"] == "float32"
        stored = np.frombuffer(data, "<f4", value.size, offset).reshape(value.shape)
        np.testing.assert_array_equal(stored, value)
        offset += value.nbytes
    assert offset == len(data)


def test_keepdims_pooling_becomes_pooling_and_reshape(tmp_path):
    model = build(TFJS_FAMILIES["mobilenet"])
    layers = tfjs.topology_of(model)["model_config"]["config"]["layers"]
    names = [l["config"]["name"] for l in layers]
    i = names.index("global_average_pooling2d")
    assert layers[i]["config"]["keepdims"] is False
    reshape = layers[i + 1]
    assert reshape["class_name"] == "Reshape" and reshape["name"] == names[i] + "_keepdims"
    assert reshape["config"]["target_shape"] == [1, 1, 256]
    assert reshape["inbound_nodes"] == [[["global_average_pooling2d", 0, 0, {}]]]
    consumer = layers[names.index("dropout")]
    assert consumer["inbound_nodes"][0][0][0] == names[i] + "_keepdims"


def test_shards_split_at_shard_size(tmp_path):
    model = keras.Sequential([L.Dense(1100, input_shape=(1000,), name="big")])  # 4.4 MB
    d = str(tmp_path / "big")
    model.export(d, format="tfjs")
    doc, data = _read(d)
    assert doc["weightsManifest"][0]["paths"] == ["group1-shard1of2.bin", "group1-shard2of2.bin"]
    assert os.path.getsize(os.path.join(d, "group1-shard1of2.bin")) == 4194304
    assert len(data) == (1000 * 1100 + 1100) * 4
    model.export(d, format="tfjs", shard_size_bytes=1 << 20)  # overwrites, no stale shards
    doc, data2 = _read(d)
    paths = doc["weightsManifest"][0]["paths"]
    assert paths == [f"group1-shard{i}of5.bin" for i in range(1, 6)] and data2 == data
    assert sorted(os.listdir(d)) == sorted(paths + ["model.json"])
    assert all(os.path.getsize(os.path.join(d, p)) <= 1 << 20 for p in paths)


def test_integer_weights_are_int32():
    files, manifest = tfjs.shards([("t/table", np.array([[1, -2], [3, 4]], np.int64)
                                    .astype("<i4")), ("t/w", np.ones(2, "<f4"))], 100)
    assert manifest[0]["weights"] == [{"name": "t/table", "shape": [2, 2], "dtype": "int32"},
                                      {"name": "t/w", "shape": [2], "dtype": "float32"}]
    data = files["group1-shard1of1.bin"]
    assert np.frombuffer(data[:16], "<i4").tolist() == [1, -2, 3, 4]


@pytest.mark.parametrize("family, message", [
    ("cnn", r"Received layer 'dense(_\d+)?' \(Dense\) with activation='leaky_relu', which "
            r"tfjs-layers does not know"),
    ("two_in_two_out", r"Received layer 'dense(_\d+)?' \(Dense\) with "
                       r"activation='leaky_relu', which tfjs-layers does not know"),
    ("rnn", r"Received layer 'gru(_\d+)?' \(GRU\) with reset_after=True, which tfjs-layers "
            r"refuses\. Fix: build it with reset_after=False"),
])
def test_what_tfjs_lacks_is_refused_naming_the_layer(tmp_path, family, message):
    model = build(FAMILIES[family])
    with pytest.raises(ConfigError, match=r"model.export\(format='tfjs'\): expected layers and "
                       r"activations TensorFlow.js Layers implements\. " + message):
        model.export(str(tmp_path / family), format="tfjs")
    assert not os.path.exists(tmp_path / family)


def test_unknown_layer_class_is_refused(tmp_path):
    x = keras.Input((4,), name="x")
    out = L.Subtract(name="minus")([L.Dense(2)(x), L.Dense(2)(x)])
    with pytest.raises(ConfigError, match=r"Received layer 'minus' of class Subtract, which "
                       r"tfjs-layers does not implement\. Fix: replace it"):
        keras.Model(x, out).export(str(tmp_path / "s"), format="tfjs")


def test_duplicate_weight_names_are_refused(tmp_path):
    x = keras.Input((3,), name="x")
    a = keras.Sequential([L.Dense(2, input_shape=(3,), name="same")], name="a")
    b = keras.Sequential([L.Dense(2, input_shape=(3,), name="same")], name="b")
    model = keras.Model(x, L.Add()([a(x), b(x)]))
    with pytest.raises(ConfigError, match=r"expected unique weight names \(tfjs-layers matches "
                       r"weights by name\)\. Received 'same/kernel' twice \(layers 'a' and "
                       r"'b'\)\. Fix: give the sublayers unique names"):
        model.export(str(tmp_path / "n"), format="tfjs")


def test_bad_options_and_signatures(tmp_path):
    model = build(TFJS_FAMILIES["tutorial_mlp"])
    d = str(tmp_path / "m")
    for bad in (0, -5, 1.5, "4MB"):
        with pytest.raises(ConfigError, match=r"expected shard_size_bytes to be a positive int"):
            model.export(d, format="tfjs", shard_size_bytes=bad)
    with pytest.raises(ConfigError, match=r"expected input_signature to keep the model's input "
                       r"shapes with a dynamic batch.*Received \[\(8, 784\)\]"):
        model.export(d, format="tfjs", input_signature=[(8, 784)])
    model.export(d, format="tfjs", input_signature=[(None, 784)])  # the model's own: fine
    assert os.path.exists(os.path.join(d, "model.json"))


def test_non_float32_layers_are_refused(tmp_path):
    model = keras.Sequential([L.Dense(2, input_shape=(3,), name="wide", dtype="float64")])
    with pytest.raises(ConfigError, match=r"Received layer 'wide_input' \(InputLayer\) with dtype "
                       r"'float64' \(tfjs-layers computes in \['bool', 'float32', 'int32'\]\)\. "
                       r"Fix: build the model in float32"):
        model.export(str(tmp_path / "w"), format="tfjs")


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(2)

    def call(self, x, training=False):
        return self.dense(x)


def test_subclassed_models_are_refused(tmp_path):
    model = Net(name="net")
    model.predict(np.zeros((2, 3), np.float32), verbose=0)
    with pytest.raises(ConfigError, match=r"Received model 'net' of subclassed class Net, whose "
                       r"call\(\) is Python code TF.js cannot rebuild from a topology\. Fix: "
                       r"build it as a Sequential or functional model"):
        model.export(str(tmp_path / "net"), format="tfjs")
