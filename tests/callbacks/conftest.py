"""Fixtures for callback tests: a tiny regression model and its data."""

import numpy as np
import pytest

import savepoint as keras


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")).astype("float32")
    return x, y


@pytest.fixture
def make_model():
    def make(lr: float = 0.01, metrics=None):
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        model.compile(keras.optimizers.Adam(learning_rate=lr), "mse", metrics=metrics)
        return model
    return make


class Scripted(keras.callbacks.Callback):
    """Overwrites ``logs[key]`` at each epoch end with the next scripted value."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


@pytest.fixture
def scripted():
    return Scripted
