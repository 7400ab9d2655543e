"""Adagrad, Adadelta, Adamax, Nadam and Ftrl against real tf.keras updates
(tools/make_optimizer_goldens.py): weights after each step, slots, slot names, checkpoint
children and configs."""

import glob
import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "optimizers")
CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(DIR, "*.json")))
NAMES = ("kernel", "bias")


def load(case):
    with open(os.path.join(DIR, f"{case}.json")) as f:
        meta = json.load(f)
    return meta, np.load(os.path.join(DIR, f"{case}.npz"))


def run(meta, data, steps=4):
    opt = getattr(keras.optimizers, meta["class_name"])(**meta["kwargs"])
    variables = [Variable(torch.nn.Parameter(torch.tensor(data[f"w0_{n}"])), name=n,
                          path=f"dense/{n}", trainable=True) for n in NAMES]
    history = []
    for step in range(steps):
        opt.apply_gradients([(torch.tensor(data[f"g{step}_{n}"]), v)
                             for n, v in zip(NAMES, variables)])
        history.append([v.numpy() for v in variables])
    return opt, variables, history


@pytest.mark.parametrize("case", CASES)
def test_updates_match_tf_keras(case):
    meta, data = load(case)
    opt, _, history = run(meta, data)
    for step, weights in enumerate(history, start=1):
        for n, w in zip(NAMES, weights):
            np.testing.assert_allclose(w, data[f"w{step}_{n}"], rtol=2e-5, atol=2e-6,
                                       err_msg=f"{case} step {step} {n}")
    tf_names = [n[:-2] for n in meta["variable_names"]]
    assert [v.path for v in opt.variables] == ["iteration"] + tf_names[1:]
    for i, v in enumerate(opt.variables):
        np.testing.assert_allclose(v.numpy(), data[f"opt_{i}"], rtol=2e-5, atol=2e-6,
                                   err_msg=f"{case} optimizer variable {tf_names[i]}")


@pytest.mark.parametrize("case", CASES)
def test_checkpoint_children_and_config_match_tf_keras(case):
    meta, data = load(case)
    opt, _, _ = run(meta, data, steps=1)
    assert sorted(name for name, _ in opt._trackable_children()) == meta["children"]
    config = opt.get_config()
    for key, value in meta["config"].items():
        if key == "name":
            continue
        if isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert config[key] == value, key
    clone = type(opt).from_config(config)
    assert clone.get_config() == config


def test_nadam_u_product_matches_tf_keras():
    meta, data = load("nadam_args")
    opt, _, _ = run(meta, data)
    assert opt.u_product(4) == pytest.approx(float(data["u_product"]), rel=1e-7)
    children = dict(opt._trackable_children())
    assert float(children["_u_product"].numpy()) == pytest.approx(float(data["u_product"]))


def test_names_and_legacy_aliases():
    for name in ("adagrad", "adadelta", "adamax", "nadam", "ftrl"):
        assert keras.optimizers.get(name).__class__.__name__.lower() == name
    assert keras.optimizers.legacy.Nadam is keras.optimizers.Nadam
    assert keras.optimizers.legacy.Adam(learning_rate=0.5).learning_rate == 0.5


def test_bad_arguments():
    with pytest.raises(ConfigError, match="`learning_rate_power` needs to be negative or zero, "
                                          "got 0.5"):
        keras.optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ConfigError, match="Adagrad: expected initial_accumulator_value to be a "
                                          "float >= 0.0. Received: "
                                          "initial_accumulator_value=-1"):
        keras.optimizers.Adagrad(initial_accumulator_value=-1)
    with pytest.raises(ConfigError, match="Nadam: expected beta_1 to be a float"):
        keras.optimizers.Nadam(beta_1="x")


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl"])
def test_fit_and_resume_exactly_through_a_checkpoint(tmp_path, name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = x @ rng.standard_normal((4, 1)).astype("float32")

    def make():
        keras.utils.set_random_seed(1)
        m = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(1)])
        m.compile(getattr(keras.optimizers, name)(learning_rate=0.05), "mse")
        return m

    straight = make()
    straight.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    first = make()
    first.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    first.save_weights(str(tmp_path / "cp.ckpt"))
    resumed = make()
    resumed.load_weights(str(tmp_path / "cp.ckpt"))
    resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl"])
@pytest.mark.parametrize("suffix", ["model.h5", "model.keras", "model_dir"])
def test_whole_model_round_trip_keeps_optimizer_state(tmp_path, name, suffix):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(4,)), keras.layers.Dense(1)])
    model.compile(getattr(keras.optimizers, name)(learning_rate=0.05), "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / suffix)
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
