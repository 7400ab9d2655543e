"""Models with recurrent layers round-trip bit for bit through the TF checkpoint, Keras 2 ``.h5``
(whole model and weights), Keras 3 ``.keras``/``.weights.h5`` and the model directory; files that
REAL tf-keras and Keras 3 saved load and predict what they predicted; our TF checkpoint names
every recurrent weight as tf-keras does (``layer_with_weights-0/cell/kernel``,
``forward_layer/cell/...``, ``cell/cells/0/...``)."""

import json
import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.saving.mapping.dialects import keras2, keras3
from savepoint.saving.engine.model_config import model_to_config
from savepoint.serialization import deserialize

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from saving_model_families import (assert_same_model, assert_same_weights,  # noqa: E402
                                   recurrent_functional, recurrent_sequential, save_and_reload,
                                   trained)

INTEROP = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens", "rnn",
                       "interop")
FAMILIES = {"sequential": recurrent_sequential, "functional": recurrent_functional}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    model, x = trained(FAMILIES[request.param])
    return request.param, model, x


@pytest.mark.parametrize("suffix", ["m.keras", "m.h5", "my_model"])
def test_whole_model_round_trip(tmp_path, family, suffix):
    _, model, x = family
    loaded = save_and_reload(model, str(tmp_path / suffix))
    assert_same_model(model, loaded, x)
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    # the optimizer state came back too: one more step is the same step
    y = np.zeros((len(x),), "int64")
    model.train_on_batch(x, y), loaded.train_on_batch(x, y)
    assert_same_weights(model, loaded)


@pytest.mark.parametrize("suffix", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_weights_round_trip(tmp_path, family, suffix):
    name, model, x = family
    path = str(tmp_path / suffix)
    model.save_weights(path)
    fresh = FAMILIES[name]()
    fresh.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fresh.load_weights(path)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))


def test_layer_configs_round_trip_through_both_dialects(family):
    _, model, _ = family
    native = model_to_config(model)
    back2 = keras2.model_from_keras2(json.loads(json.dumps(keras2.model_to_keras2(native))))
    back3, _ = keras3.from_keras3(json.loads(json.dumps(keras3.to_keras3(native, None))))
    layers = {l.name: l for l in model.layers}
    for back in (back2, back3):
        for entry in back["config"]["layers"]:
            if entry["class_name"] == "InputLayer":
                continue
            layer = layers[entry["config"]["name"]]
            rebuilt = deserialize(entry, "layers")
            assert type(rebuilt) is type(layer)
            assert json.loads(json.dumps(rebuilt.get_config())) == \
                json.loads(json.dumps(layer.get_config()))


def _interop_model():
    L = keras.layers
    inp = keras.Input((5, 3), name="x")
    h = L.LSTM(4, return_sequences=True, name="lstm")(inp)
    h = L.Bidirectional(L.GRU(2, return_sequences=True), name="bidi")(h)
    h = L.TimeDistributed(L.Dense(2), name="td")(h)
    h = L.RNN(L.StackedRNNCells([L.SimpleRNNCell(2), L.LSTMCell(3)]), name="stack")(h)
    return keras.Model(inp, L.Dense(1, name="head")(h), name="rnn_interop")


def test_loads_tf_keras_checkpoint_by_object_graph():
    gold = np.load(os.path.join(INTEROP, "tf_predictions.npz"))
    model = _interop_model()
    model.load_weights(os.path.join(INTEROP, "tf_ckpt", "cp.ckpt")).expect_partial()
    np.testing.assert_allclose(model.predict(gold["x"], verbose=0), gold["y"], rtol=1e-5,
                               atol=1e-6)


def test_our_checkpoint_keys_are_tf_keras_keys(tmp_path):
    with open(os.path.join(INTEROP, "tf_ckpt_keys.json")) as f:
        theirs = json.load(f)
    model = _interop_model()
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(np.zeros((2, 5, 3), "float32"), np.zeros((2, 1), "float32"), verbose=0)
    model.save_weights(str(tmp_path / "cp.ckpt"))
    ours = sorted(name for name, _ in keras.train.list_variables(str(tmp_path / "cp.ckpt")))
    weights = lambda keys: [k for k in keys if k.startswith("layer_with_weights")]
    assert weights(ours) == weights(theirs)
    assert [k for k in ours if "optimizer" in k] == [k for k in theirs if "optimizer" in k]


def test_loads_tf_keras_h5_model():
    gold = np.load(os.path.join(INTEROP, "tf_predictions.npz"))
    model = keras.models.load_model(os.path.join(INTEROP, "tf_model.h5"))
    np.testing.assert_allclose(model.predict(gold["x"], verbose=0), gold["y"], rtol=1e-5,
                               atol=1e-6)
    assert [type(l).__name__ for l in model.layers] == [
        "InputLayer", "LSTM", "Bidirectional", "TimeDistributed", "RNN", "Dense"]


def test_loads_keras3_keras_model():
    gold = np.load(os.path.join(INTEROP, "keras3_predictions.npz"))
    model = keras.models.load_model(os.path.join(INTEROP, "keras3_model.keras"))
    np.testing.assert_allclose(model.predict(gold["x"], verbose=0), gold["y"], rtol=1e-5,
                               atol=1e-6)


def test_model_directory_inference_program_predicts_like_the_model(tmp_path, family):
    """torch.export traces the recurrent layers (masked sequences through the step loop, which
    has no data-dependent branch) with a dynamic batch: the program predicts without classes."""
    from savepoint.saving.handlers import model_dir
    _, model, x = family
    path = str(tmp_path / "m")
    model.save(path)
    meta = model_dir.read_meta(path)
    assert meta["inference"]["available"] is True, meta["inference"]
    program = model_dir.load_inference(path, meta)
    np.testing.assert_allclose(program.predict(x, batch_size=3, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
