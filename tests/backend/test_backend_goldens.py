"""keras.backend functions against tf.keras.backend's outputs (tools/make_backend_goldens.py)."""

import os

import numpy as np
import pytest
import torch

import savepoint.backend as K
from backend_cases import CASES, resolve
from savepoint.errors import ConfigError, DTypeError

G = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "backend",
                         "backend.npz"))
ARRAYS = {k[4:]: G[k] for k in G.files if k.startswith("in__")}


@pytest.mark.parametrize("case,fn,args,kwargs", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_matches_tf_keras_backend(case, fn, args, kwargs, kind):
    convert = torch.from_numpy if kind == "torch" else np.asarray
    args = [resolve(a, ARRAYS, convert) for a in args]
    out = getattr(K, fn)(*args, **kwargs)
    expected = G[f"out__{case}"]
    got = K.get_value(out)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_int_shape_ndim_and_config():
    assert K.int_shape(torch.zeros(2, 3)) == (2, 3)
    assert K.ndim(np.zeros((1, 2, 3))) == 3
    assert K.epsilon() == 1e-7 and K.floatx() == "float32"
    assert K.image_data_format() == "channels_last"
    K.set_epsilon(1e-5)
    try:
        assert K.epsilon() == 1e-5
    finally:
        K.set_epsilon(1e-7)
    K.set_floatx("float64")
    try:
        assert K.zeros((1,)).dtype == torch.float64
    finally:
        K.set_floatx("float32")
    with pytest.raises(DTypeError, match="Expected floatx 'float16', 'bfloat16', 'float32' or "
                                         "'float64'. Received: 'int8'"):
        K.set_floatx("int8")
    with pytest.raises(ConfigError, match="Expected data_format 'channels_last'"):
        K.set_image_data_format("channels_first")
    assert K.learning_phase() == 0


def test_values_get_set():
    v = K.variable(np.ones((2, 2)))
    assert v.dtype == torch.float32
    K.set_value(v, np.full((2, 2), 3.0))
    assert K.get_value(v).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    K.batch_set_value([(v, np.zeros((2, 2)))])
    assert [x.sum() for x in K.batch_get_value([v])] == [0.0]
    with pytest.raises(ConfigError, match=r"Expected a value of shape \(2, 2\). Received shape "
                                          r"\(3,\)"):
        K.set_value(v, np.zeros(3))
    with pytest.raises(ConfigError, match="Expected a tensor or a Variable to set. Received: "
                                          "float"):
        K.set_value(0.1, 0.2)
    import savepoint as keras
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    K.set_value(layer.weights[1], np.array([1.0, 2.0]))
    assert K.get_value(layer.weights[1]).tolist() == [1.0, 2.0]


def test_backend_functions_are_differentiable():
    x = torch.tensor(ARRAYS["a"], requires_grad=True)
    K.sum(K.square(K.l2_normalize(x, axis=-1)) * K.softmax(x)).backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_clear_session_resets_names():
    import savepoint as keras
    K.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_set_value_on_the_optimizer_learning_rate():
    import savepoint as keras
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    assert float(K.get_value(model.optimizer.lr)) == 0.01
    K.set_value(model.optimizer.lr, 0.5)  # the Keras 2 idiom in LR-scheduling callbacks
    assert model.optimizer.learning_rate == 0.5
    model.optimizer.learning_rate.assign(0.25)
    assert model.optimizer.lr.numpy() == 0.25
