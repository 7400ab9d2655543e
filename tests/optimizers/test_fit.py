"""Integration: a tiny savepoint model trained with each optimizer through ``model.fit``."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.optimizers import SGD, Adam, AdamW, RMSprop, schedules


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.5], [-2.0], [0.5]], dtype="float32") + 0.3
    return x, y


@pytest.mark.parametrize("optimizer", [
    "sgd", "adam", "adamw", "rmsprop",
    lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    lambda: Adam(learning_rate=schedules.ExponentialDecay(0.05, 20, 0.9), clipnorm=1.0),
    lambda: AdamW(learning_rate=0.05, weight_decay=0.01, global_clipnorm=5.0),
    lambda: RMSprop(learning_rate=0.01, momentum=0.5, centered=True, clipvalue=1.0),
])
def test_fit_reduces_loss(optimizer):
    torch.manual_seed(0)
    x, y = _data()
    model = keras.Sequential([keras.layers.Dense(4, activation="tanh", input_shape=(3,)),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer() if callable(optimizer) else optimizer, loss="mse")
    if isinstance(optimizer, str):  # the alias gives Keras defaults; speed the toy problem up
        model.optimizer.learning_rate = 0.05
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.7 * before
    assert history.history["loss"][-1] < history.history["loss"][0]
    opt = model.optimizer
    assert int(opt.iterations.numpy()) == 15 * 4
    trainable = len(model.trainable_weights)
    per_variable = len(opt._slot_names)
    assert len(opt.variables) == 1 + trainable * per_variable


def test_compile_default_optimizer_is_rmsprop():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse")
    assert isinstance(model.optimizer, RMSprop)
