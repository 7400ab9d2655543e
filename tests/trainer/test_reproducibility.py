"""Seeds and devices: ``set_random_seed`` makes runs bitwise repeatable on CPU; CPU is the default
device, ``set_device``/``model.to`` move models."""

import random

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import ConfigError


def _build_and_train(seed: int) -> list:
    """Build (random init), train with Dropout and shuffling, all from one seed."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x = np.random.rand(48, 6).astype("float32")
    y = np.random.randint(0, 3, 48)
    model = keras.Sequential([L.Dense(16, activation="relu", input_shape=(6,)), L.Dropout(0.3),
                              L.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=3, batch_size=8, shuffle=True, validation_split=0.25, verbose=0)
    return model.get_weights()


def test_same_seed_gives_bitwise_equal_weights():
    first, second = _build_and_train(123), _build_and_train(123)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_weights():
    first, other = _build_and_train(123), _build_and_train(124)
    assert all(not np.array_equal(a, b) for a, b in zip(first, other))


def test_set_random_seed_seeds_python_numpy_and_torch():
    keras.utils.set_random_seed(5)
    values = (random.random(), np.random.rand(), torch.rand(1).item())
    keras.utils.set_random_seed(5)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == values
    with pytest.raises(ConfigError, match=r"Expected seed to be an int\. Received: '5' of type "
                                          r"str"):
        keras.utils.set_random_seed("5")


def test_cpu_is_the_default_and_set_device_cpu_works():
    assert keras.config.get_device() == torch.device("cpu")
    keras.config.set_device("cpu")
    try:
        model = keras.Sequential([L.Dense(2, input_shape=(3,))])
        assert all(w.value.device.type == "cpu" for w in model.weights)
        assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 2)
    finally:
        keras.config.set_device(None)


def test_model_to_cpu_keeps_training_and_variables_working():
    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    assert model.to("cpu") is model
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.get_weights()
    model.fit(np.random.rand(8, 3), np.arange(8) % 2, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])
    # the Variable handles follow the module's parameters
    assert model.weights[0].value is model.layers[0].kernel


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_smoke():
    model = keras.Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(2)])
    model.to("cuda")
    assert all(w.value.device.type == "cuda" for w in model.weights)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = np.random.rand(16, 3).astype("float32"), np.arange(16) % 2
    history = model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), verbose=0)
    assert len(history.history["val_loss"]) == 2
    out = model.predict(x, verbose=0)
    k0, b0, k1, b1 = model.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ k0 + b0, 0) @ k1 + b1, rtol=1e-4, atol=1e-5)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    assert model.weights[0].value.device.type == "cuda"
