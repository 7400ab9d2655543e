"""keras.backend's ``function``, ``gradients``, ``conv1d``/``conv2d``/``pool2d`` and ``rnn``
against tf.keras 2 goldens (tools/make_model_graph_goldens.py runs backend_ops_cases.py there)."""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
import savepoint.backend as K
from backend_ops_cases import CASES
from savepoint.errors import ConfigError, GraphModeError

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens",
                       "backend_ops")


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_tf_keras(name):
    keras.backend.clear_session()
    arrays, meta = CASES[name](keras)
    with open(os.path.join(GOLDENS, f"{name}.json")) as f:
        assert meta == json.load(f)
    want = dict(np.load(os.path.join(GOLDENS, f"{name}.npz")))
    assert sorted(arrays) == sorted(want)
    for key, expected in want.items():
        got = np.asarray(arrays[key])
        assert got.shape == expected.shape, key
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=key)


def test_gradients_raises_with_the_torch_idiom():
    with pytest.raises(GraphModeError, match=r"K\.gradients expected TensorFlow graph mode.*"
                                             r"Fix: .*torch\.autograd\.grad\(loss, "
                                             r"\[v\.value for v in variables\]\)"):
        K.gradients(torch.zeros(()), [])
    assert issubclass(GraphModeError, RuntimeError)  # tf.keras raises RuntimeError


def test_function_refuses_updates_and_session_arguments():
    x = keras.Input((2,))
    y = keras.layers.Dense(1)(x)
    with pytest.raises(ConfigError, match=r"K\.function expected updates=None.*Received: \[1\]"):
        K.function([x], [y], updates=[1])
    with pytest.raises(ConfigError, match=r"K\.function expected no session keyword arguments"
                                          r".*Received: \{'fetches': \[\]\}"):
        K.function([x], [y], fetches=[])


def test_function_runs_in_inference_mode_and_returns_no_graph():
    x = keras.Input((3,))
    y = keras.layers.Dropout(0.9)(keras.layers.Dense(4, kernel_initializer="ones")(x))
    out = K.function([x], [y])([np.ones((2, 3), "float32")])
    np.testing.assert_array_equal(out[0], np.full((2, 4), 3.0, "float32"))


def test_rnn_mask_must_be_batch_by_time():
    step = lambda x, s: (x, [x])  # noqa: E731
    with pytest.raises(ConfigError, match=r"K\.rnn expected a mask of rank 2 \(batch, time\)\. "
                                          r"Received shape \(2, 3, 1\)"):
        K.rnn(step, torch.ones(2, 3, 1), [torch.zeros(2, 1)], mask=torch.ones(2, 3, 1))


def test_conv_and_pool_refuse_unknown_arguments():
    with pytest.raises(ConfigError, match=r"Expected padding to be one of \['valid', 'same'\]\. "
                                          r"Received: 'causal'"):
        K.conv2d(torch.ones(1, 3, 3, 1), torch.ones(2, 2, 1, 1), padding="causal")
    with pytest.raises(ConfigError, match=r"Expected pool_mode 'max' or 'avg'\. Received: "
                                          r"'min'"):
        K.pool2d(torch.ones(1, 2, 2, 1), (2, 2), pool_mode="min")
