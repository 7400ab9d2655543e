"""RNN ``constants`` (Keras 2: ``RNN(cell)(x, constants=c)`` for a cell whose call takes them):
eager and symbolic calls, errors, every save format, and live ``.h5`` interop with tf.keras
both ways (tests/models/tf_rnn_constants.py); the numbers against tf.keras goldens are in
tests/models/test_graph_goldens.py (case ``rnn_constants``)."""

import json
import os
import sys

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError

MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
sys.path.insert(0, MODELS)
sys.path.insert(0, os.path.join(os.path.dirname(MODELS), "interop"))
import graph_cases  # noqa: E402
from venv_runners import TF_PYTHON, _interop_python, _run_in_tf  # noqa: E402

CELL = graph_cases.constants_cell(keras)


def test_eager_call_with_constants_matches_the_functional_model():
    model = graph_cases.constants_model(keras)
    (x, c), _ = graph_cases.constants_data()
    rnn = model.get_layer("rnn")
    eager = model.get_layer("out")(rnn(x, constants=c))
    np.testing.assert_allclose(np.asarray(eager), model.predict([x, c], verbose=0), rtol=1e-6)
    assert rnn.get_config()["num_constants"] == 1


def test_constants_with_initial_state_and_go_backwards():
    (x, c), _ = graph_cases.constants_data()
    layer = keras.layers.RNN(CELL(2), go_backwards=True, return_state=True)
    h0 = np.full((6, 2), 0.3, "float32")
    out, state = layer(x, initial_state=[h0], constants=c)
    # the same numbers by hand: the cell stepped over the reversed sequence from h0
    cell, h, const = layer.cell, torch.from_numpy(h0), torch.from_numpy(c)
    for t in reversed(range(x.shape[1])):
        h, _ = cell(torch.from_numpy(x[:, t]), [h], constants=[const])
    np.testing.assert_allclose(np.asarray(out), np.asarray(h), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(state), np.asarray(h), rtol=1e-6)


def test_a_cell_without_constants_is_refused():
    x = keras.Input((3, 2))
    c = keras.Input((2,))
    with pytest.raises(ConfigError, match=r"Layer 'rnn\w*' expected a cell whose call\(inputs, "
                                          r"states, constants\) takes constants\. Received 1 "
                                          r"constant\(s\) for cell SimpleRNNCell.*Fix: pass"):
        keras.layers.RNN(keras.layers.SimpleRNNCell(2))(x, constants=c)


@pytest.mark.parametrize("suffix", [".h5", ".keras", ""])
def test_constants_model_round_trips_every_format(tmp_path, suffix):
    model = graph_cases.constants_model(keras)
    (x, c), _ = graph_cases.constants_data()
    path = str(tmp_path / f"m{suffix}")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"CellWithConstants": CELL},
                                     compile=False)
    assert loaded.get_layer("rnn")._num_constants == 1
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict([x, c], verbose=0),
                                  model.predict([x, c], verbose=0))


def test_tf_keras_reads_our_h5_and_we_read_theirs(tmp_path):
    model = graph_cases.constants_model(keras)
    (x, c), _ = graph_cases.constants_data()
    ours, theirs, npz = (str(tmp_path / n) for n in ("ours.h5", "theirs.h5", "pred.npz"))
    model.save(ours)
    out = _run_in_tf(_interop_python(TF_PYTHON, "TensorFlow"),
                     os.path.join(MODELS, "tf_rnn_constants.py"),
                     {"ours": ours, "theirs": theirs, "npz": npz})
    assert json.loads(out.strip().splitlines()[-1]) == {"num_constants": 1}
    preds = np.load(npz)
    np.testing.assert_allclose(preds["ours_pred"], model.predict([x, c], verbose=0),
                               rtol=1e-5, atol=1e-6)
    loaded = keras.models.load_model(theirs, custom_objects={"CellWithConstants": CELL})
    np.testing.assert_allclose(loaded.predict([x, c], verbose=0), preds["theirs_pred"],
                               rtol=1e-5, atol=1e-6)


def test_bidirectional_takes_a_custom_cell_but_refuses_constants():
    # tf.keras's Bidirectional recreates the backward RNN with its cell class in scope
    layer = keras.layers.Bidirectional(keras.layers.RNN(CELL(2)))
    assert type(layer.backward_layer.cell).__name__ == "CellWithConstants"
    with pytest.raises(ConfigError, match=r"Layer 'bidirectional\w*' expected constants=None: "
                                          r"Bidirectional does not pass constants.*Received 1 "
                                          r"constant\(s\)\. Fix: call RNN"):
        layer(keras.Input((4, 3)), constants=keras.Input((2,)))
