"""keras.mixed_precision: policies, autocast in fit/evaluate/predict with float32 weights, and
LossScaleOptimizer against REAL tf-keras (tools/make_mixed_precision_goldens.py)."""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import mixed_precision
from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                       "mixed_precision", "loss_scale.json")) as f:
    G = json.load(f)


@pytest.fixture
def policy():
    yield mixed_precision.set_global_policy
    mixed_precision.set_global_policy("float32")


def test_policies_match_tf_keras():
    for name, (compute, variable) in G["policies"].items():
        p = mixed_precision.Policy(name)
        assert (p.compute_dtype, p.variable_dtype) == (compute, variable)
    with pytest.raises(ConfigError, match="Cannot convert value 'mixed_int8' to a mixed "
                                          "precision Policy"):
        mixed_precision.Policy("mixed_int8")


def test_loss_scale_optimizer_matches_tf_keras():
    opt = mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=4.0,
                                             dynamic_growth_steps=2)
    var = Variable(torch.nn.Parameter(torch.tensor([1.0, 2.0])), name="w", path="w",
                   trainable=True)
    for grad, expected in zip(G["grads"], G["steps"]):
        opt.apply_gradients([(torch.tensor(grad), var)])
        np.testing.assert_allclose(var.numpy(), expected["w"], rtol=1e-7)
        assert opt.loss_scale == expected["scale"]
    assert float(opt.get_scaled_loss(torch.tensor(3.0))) == G["scaled_loss_3"]
    assert [float(g) for g in opt.get_unscaled_gradients([torch.tensor(8.0)])] == \
        G["unscaled_8"]
    for key, value in G["config"].items():
        assert opt.get_config()[key] == value


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    return x, (x @ rng.standard_normal((4, 1))).astype("float32")


def model(optimizer):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                          keras.layers.Dense(1)])
    m.compile(optimizer, "mse")
    return m


def test_loss_scaled_fit_equals_plain_fit_in_float32():
    x, y = data()
    plain = model(keras.optimizers.SGD(0.05))
    plain.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    scaled = model(mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.05)))
    scaled.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(plain.get_weights(), scaled.get_weights()):
        np.testing.assert_array_equal(a, b)  # the scale is a power of two: exact
    assert scaled.optimizer.iterations.numpy() == 8


def test_overflow_skips_the_step_and_halves_the_scale():
    x, y = data()
    m = model(mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.05),
                                                 initial_scale=2.0 ** 127))
    before = [w.copy() for w in m.get_weights()]
    m.fit(x[:8], y[:8] * 1e30, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m.optimizer.loss_scale == 2.0 ** 126


@pytest.mark.parametrize("name,dtype", [("mixed_bfloat16", torch.bfloat16),
                                        ("mixed_float16", torch.float16)])
def test_mixed_policy_autocasts_compute_keeps_float32_weights(policy, name, dtype):
    policy(name)
    x, y = data()
    m = model(mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(0.01)))
    with mixed_precision.model_autocast(m):
        assert m.layers[0](torch.tensor(x)).dtype == dtype
    history = m.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(w.dtype == np.float32 for w in m.get_weights())
    assert m.predict(x, verbose=0).shape == (32, 1)


def test_float64_policy_sets_floatx(policy):
    policy("float64")
    assert keras.backend.floatx() == "float64"
    assert keras.layers.Dense(1).dtype == "float64"


def test_wrapper_errors():
    with pytest.raises(ConfigError, match='"inner_optimizer" must be an instance of Optimizer'):
        mixed_precision.LossScaleOptimizer("sgd")
    with pytest.raises(ConfigError, match='"initial_scale" must be specified if "dynamic" is '
                                          'False'):
        mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(), dynamic=False)


def test_loss_scale_state_in_checkpoints(tmp_path):
    x, y = data()
    m = model(mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.05), initial_scale=64.0,
                                                 dynamic_growth_steps=3))
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)  # 4 steps: scale 128, 1 good step
    assert (m.optimizer.loss_scale, m.optimizer._good_steps) == (128.0, 1)
    m.save_weights(str(tmp_path / "cp.ckpt"))
    names = [n for n, _ in keras.train.list_variables(str(tmp_path / "cp.ckpt"))]
    assert "optimizer/loss_scale/current_loss_scale/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "optimizer/loss_scale/good_steps/.ATTRIBUTES/VARIABLE_VALUE" in names
    fresh = model(mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.05),
                                                     initial_scale=64.0, dynamic_growth_steps=3))
    fresh.load_weights(str(tmp_path / "cp.ckpt"))
    fresh.fit(x[:8], y[:8], epochs=1, batch_size=8, verbose=0)  # builds, restores, steps
    assert (fresh.optimizer.loss_scale, fresh.optimizer._good_steps) == (128.0, 2)


@pytest.mark.parametrize("suffix", ["m.h5", "m.keras", "m_dir"])
def test_tf_keras_model_saved_under_mixed_float16_loads(tmp_path, suffix):
    base = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                        "mixed_precision")
    data = np.load(os.path.join(base, "mixed_model.npz"))
    model = keras.models.load_model(os.path.join(base, "mixed_model.h5"))
    # tf.keras 2: each layer keeps its mixed policy; ``dtype`` is the variables' float32
    assert [layer.dtype_policy.name for layer in model.layers] == ["mixed_float16",
                                                                   "mixed_float16", "float32"]
    assert [layer.dtype for layer in model.layers] == ["float32"] * 3
    assert all(w.dtype == np.float32 for w in model.get_weights())  # variables: float32
    # the mixed layers compute in float16 as tf.keras's do (float16 rounding apart)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-3)
    path = str(tmp_path / suffix)
    model.save(path)
    again = keras.models.load_model(path)
    assert [layer.dtype_policy for layer in again.layers] == \
        [layer.dtype_policy for layer in model.layers]
    np.testing.assert_array_equal(again.predict(data["x"], verbose=0),
                                  model.predict(data["x"], verbose=0))
