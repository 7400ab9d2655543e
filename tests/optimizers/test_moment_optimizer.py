"""Adamax and Nadam share MomentOptimizer's beta_1/beta_2/epsilon arguments: tf.keras's defaults,
checks that name the concrete optimizer, and config entries that round-trip."""

from __future__ import annotations

import inspect

import pytest

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.optimizers.moment_optimizer import MomentOptimizer

CLASSES = [keras.optimizers.Adamax, keras.optimizers.Nadam]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_defaults_are_tf_keras_defaults(cls):
    params = inspect.signature(cls).parameters
    assert {k: params[k].default for k in ("learning_rate", "beta_1", "beta_2", "epsilon")} == {
        "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    assert issubclass(cls, MomentOptimizer)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("arg,value", [("beta_1", -0.1), ("beta_2", "x"), ("epsilon", True)])
def test_bad_hyperparameters_name_the_optimizer(cls, arg, value):
    with pytest.raises(ConfigError, match=rf"{cls.__name__}: expected {arg} to be a float >= "
                                          rf"0.0. Received: {arg}={value!r}."):
        cls(**{arg: value})


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_config_round_trips(cls):
    opt = cls(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    config = opt.get_config()
    assert {k: config[k] for k in ("beta_1", "beta_2", "epsilon")} == {
        "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(clone) is cls and clone.get_config() == config
