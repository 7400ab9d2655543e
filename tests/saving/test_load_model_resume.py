"""Continuing ``fit`` on a model from ``load_model`` is bit for bit the uninterrupted run (CPU,
same seed): weights, optimizer slots and step restored, the slots applied at the first step."""

import numpy as np
import pytest

import savepoint as keras
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(1)
X = RNG.random((24, 6), dtype=np.float32)
Y = RNG.integers(0, 3, 24)


def make_model(optimizer):
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(6,)),
                              keras.layers.Dropout(0.3), keras.layers.Dense(3)])
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def continue_fit(model):
    set_random_seed(99)  # drives Dropout masks and the shuffle order
    history = model.fit(X, Y, epochs=2, batch_size=5, shuffle=True, verbose=0)
    return [w.numpy() for w in model.weights], history.history["loss"]


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(learning_rate=0.01),
    lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    lambda: keras.optimizers.RMSprop(learning_rate=0.01)])
def test_continuing_fit_is_bitwise_identical(tmp_path, optimizer):
    set_random_seed(7)
    model = make_model(optimizer())
    model.fit(X, Y, epochs=2, batch_size=5, shuffle=True, verbose=0)
    path = str(tmp_path / "my_model")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == 10
    expected_weights, expected_loss = continue_fit(model)
    got_weights, got_loss = continue_fit(loaded)
    assert got_loss == expected_loss
    for a, b in zip(expected_weights, got_weights):
        assert np.array_equal(a, b)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        assert a.name == b.name and np.array_equal(a.numpy(), b.numpy())


def test_without_optimizer_state_training_differs(tmp_path):
    """Control: a fresh optimizer (include_optimizer=False + recompile) does not match, so the
    test above really depends on the restored state."""
    set_random_seed(7)
    model = make_model(keras.optimizers.Adam(learning_rate=0.01))
    model.fit(X, Y, epochs=2, batch_size=5, verbose=0)
    path = str(tmp_path / "m")
    model.save(path, include_optimizer=False)
    loaded = keras.models.load_model(path, compile=False)
    loaded.compile(keras.optimizers.Adam(learning_rate=0.01),
                   keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    expected, _ = continue_fit(model)
    got, _ = continue_fit(loaded)
    assert not all(np.array_equal(a, b) for a, b in zip(expected, got))
