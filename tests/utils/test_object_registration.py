"""keras.utils registry names: a class registered with register_keras_serializable saves and
loads by name in every format; custom_object_scope resolves unregistered classes."""

import numpy as np
import pytest
import torch

import savepoint as keras


@keras.utils.register_keras_serializable(package="utils_test")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Shift(keras.layers.Layer):
    def call(self, inputs):
        return inputs + 1.0


def test_registry_names():
    assert keras.utils.get_registered_name(Scale) == "utils_test>Scale"
    assert keras.utils.get_registered_object("utils_test>Scale") is Scale
    assert "utils_test>Scale" in keras.utils.get_custom_objects()
    config = keras.utils.serialize_keras_object(Scale(3.0))
    assert keras.utils.deserialize_keras_object(config).factor == 3.0


@pytest.mark.parametrize("suffix", ["m.h5", "m.keras", "m_dir"])
def test_registered_layer_round_trips(tmp_path, suffix):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), Scale(3.0)])
    path = str(tmp_path / suffix)
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.ones((1, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[-1].factor == 3.0


def test_custom_object_scope_resolves_unregistered(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), Shift()])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with keras.utils.custom_object_scope({"Shift": Shift}):
        loaded = keras.models.load_model(path)
    out = loaded(torch.zeros(1, 3))
    assert torch.allclose(out, torch.ones(1, 2) + loaded.layers[0].bias.detach())
