"""Custom layers and subclassed models through the model directory: custom_objects,
register_serializable and custom_object_scope; a missing class fails naming it, or -- with an
inference program -- loads inference-only, tested in a process that cannot import the class."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import UnknownObjectError
from savepoint.saving.handlers import fingerprint
from savepoint.exports.inference_model import InferenceModel

X = np.random.default_rng(0).random((6, 4), dtype=np.float32)


class Scale(keras.layers.Layer):
    """A custom layer with a weight and a constructor argument."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Tower(keras.Model):
    """A custom subclassed model holding a custom layer."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = Scale(0.5)
        self.dense = keras.layers.Dense(units)

    def call(self, x, training=None):
        return self.dense(self.scale(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def trained_tower():
    model = Tower(5)
    model.compile("adam", "mse")
    model.fit(X, np.ones((6, 5), "float32"), epochs=1, batch_size=3, verbose=0)
    return model


def check_same(model, loaded):
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_custom_objects_argument(tmp_path):
    model = trained_tower()
    path = str(tmp_path / "m")
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path, custom_objects={"Tower": Tower, "Scale": Scale})
    check_same(model, loaded)
    assert loaded.scale.factor == 0.5
    assert int(loaded.optimizer.iterations.numpy()) == 2


def test_custom_object_scope(tmp_path):
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(4,)), Scale(3.0)])
    path = str(tmp_path / "m")
    model.save(path)
    keras.backend.clear_session()
    with keras.saving.custom_object_scope({"Scale": Scale}):
        loaded = keras.models.load_model(path)
    check_same(model, loaded)


def test_register_serializable(tmp_path):
    @keras.saving.register_serializable(package="custom_objects_test")
    class Registered(Tower):
        pass

    model = Registered(2)
    model(X)
    path = str(tmp_path / "m")
    model.save(path)
    meta = json.load(open(os.path.join(path, "saved_model.json")))
    assert meta["model_config"]["registered_name"] == "custom_objects_test>Registered"
    keras.backend.clear_session()
    with keras.saving.custom_object_scope({"Scale": Scale}):
        check_same(model, keras.models.load_model(path))


def remove_program(path):
    meta_path = os.path.join(path, "saved_model.json")
    meta = json.load(open(meta_path))
    meta["inference"] = {"available": False, "reason": "removed for the test"}
    open(meta_path, "w").write(json.dumps(meta))
    fingerprint.write_fingerprint(path)


def test_missing_class_without_program_names_it(tmp_path):
    model = trained_tower()
    path = str(tmp_path / "m")
    model.save(path)
    remove_program(path)
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Tower'.*"
                                                 r"custom_objects=\{'Tower': Tower\}.*"
                                                 r"no inference program.*removed for the test"):
        keras.models.load_model(path)
    sequential = keras.Sequential([keras.layers.Dense(4, input_shape=(4,)), Scale()])
    sequential.save(str(tmp_path / "s"))
    remove_program(str(tmp_path / "s"))
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Scale'.*"
                                                 r"custom_objects=\{'Scale': Scale\}"):
        keras.models.load_model(str(tmp_path / "s"), compile=False)


def test_missing_class_with_program_loads_inference_only(tmp_path):
    model = trained_tower()
    path = str(tmp_path / "m")
    model.save(path)
    with pytest.warns(UserWarning, match=r"Could not resolve class 'Tower'.*inference-only.*"
                                         r"custom_objects=\{'Tower': Tower\}"):
        loaded = keras.models.load_model(path)
    assert isinstance(loaded, InferenceModel) and loaded.missing_class == "Tower"
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(keras.errors.ConfigError, match=r"custom_objects=\{'Tower': Tower\}"):
        loaded.compile("adam", "mse")


MODULE = textwrap.dedent('''
    import savepoint as keras

    @keras.saving.register_serializable(package="hidden")
    class HiddenNet(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.a = keras.layers.Dense(8, activation="relu")
            self.b = keras.layers.Dense(units, activation="softmax")

        def call(self, x, training=None):
            return self.b(self.a(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}
''')

LOADER = textwrap.dedent('''
    import json, sys, warnings
    import numpy as np
    import savepoint as keras
    path, x_path, importable = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if importable:
        import hidden_models_sp  # registers HiddenNet
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.load_model(path)
    x = np.load(x_path, allow_pickle=False)
    np.save(x_path + ".out.npy", model.predict(x, verbose=0), allow_pickle=False)
    print(json.dumps({"type": type(model).__name__,
                      "warnings": [str(w.message) for w in caught],
                      "hidden_importable": "hidden_models_sp" in sys.modules}))
''')


def run_loader(path, x_path, module_dir, importable):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if importable:
        env["PYTHONPATH"] = module_dir
    result = subprocess.run([sys.executable, "-c", LOADER, path, x_path, "1" if importable
                             else "0"], capture_output=True, text=True, env=env,
                            cwd=os.path.dirname(x_path), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), np.load(x_path + ".out.npy")


def test_fresh_process_without_the_class_gets_inference_model(tmp_path, monkeypatch):
    module_dir = tmp_path / "code"
    module_dir.mkdir()
    (module_dir / "hidden_models_sp.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(module_dir))
    import hidden_models_sp
    torch.manual_seed(0)
    model = hidden_models_sp.HiddenNet(4)
    model.compile("adam", "categorical_crossentropy")
    model.fit(X, np.eye(4, dtype="float32")[[0, 1, 2, 3, 0, 1]], epochs=1, verbose=0)
    path = str(tmp_path / "work" / "hidden_model")
    model.save(path)
    x_path = str(tmp_path / "work" / "x.npy")
    np.save(x_path, X, allow_pickle=False)
    expected = model.predict(X, verbose=0)
    sys.modules.pop("hidden_models_sp", None)

    info, out = run_loader(path, x_path, str(module_dir), importable=False)
    assert info["type"] == "InferenceModel" and not info["hidden_importable"]
    assert any("Could not resolve class 'HiddenNet'" in w for w in info["warnings"])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)

    info, out = run_loader(path, x_path, str(module_dir), importable=True)
    assert info["type"] == "HiddenNet" and info["warnings"] == []
    np.testing.assert_array_equal(out, expected)
