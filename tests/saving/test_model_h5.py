"""Whole-model Keras 2 ``.h5``: round trips per model family, bit-exact resumed training, the
tf-keras 2.21 layout, golden files from real tf-keras, custom objects and bad input."""

import doctest
import json
import os
import shutil

import h5py
import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import (CheckpointNotFoundError, ConfigError, FormatError, NotBuiltError,
                              ShapeError, UnknownObjectError)
from savepoint.serialization import custom_object_scope, register_serializable
from savepoint.saving.handlers import model_h5
from savepoint.saving.mapping.dialects import keras2
from savepoint.utils import set_random_seed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "h5_model")
RNG = np.random.default_rng(5)
X = RNG.standard_normal((12, 20)).astype("float32")
Y = RNG.integers(0, 10, 12)
IMG = RNG.standard_normal((6, 4, 4, 2)).astype("float32")
TOK = RNG.integers(0, 10, (6, 5)).astype("int32")
FY = RNG.standard_normal((6, 2)).astype("float32")


class Scale(keras.layers.Layer):
    """A custom layer with a weight and a config value."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_serializable("h5_model_test")
class Tower(keras.Model):
    """A registered subclassed model."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)
        self.norm = keras.layers.LayerNormalization()

    def call(self, x):
        return self.norm(self.dense(x))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def sequential():
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(20,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def functional(optimizer="adam"):
    img, tok = keras.Input((4, 4, 2), name="img"), keras.Input((5,), name="tok", dtype="int32")
    a = keras.layers.Conv2D(3, 2, kernel_regularizer="l2")(img)
    a = keras.layers.Flatten()(keras.layers.BatchNormalization()(a))
    b = keras.layers.LayerNormalization()(keras.layers.Embedding(10, 4)(tok))
    b = keras.layers.GlobalAveragePooling1D()(b)
    out = keras.layers.Dense(2, name="out")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([img, tok], out)
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def fit(model, epochs=1):
    set_random_seed(11)
    if isinstance(model.inputs, list) and len(model.inputs) == 2:
        model.fit([IMG, TOK], FY, batch_size=3, epochs=epochs, verbose=0)
    else:
        model.fit(X, Y, batch_size=4, epochs=epochs, verbose=0)
    return [w.numpy().copy() for w in model.weights]


def assert_same_state(a, b, same_paths=True):
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    assert not same_paths or [w.path for w in a.weights] == [w.path for w in b.weights]
    for u, v in zip(a.weights, b.weights):
        assert np.array_equal(u.numpy(), v.numpy())
    if getattr(a, "optimizer", None) is not None:
        assert a.optimizer.get_config() == b.optimizer.get_config()
        assert len(a.optimizer.variables) == len(b.optimizer.variables)
        for u, v in zip(a.optimizer.variables, b.optimizer.variables):
            assert not same_paths or u.path == v.path
            assert np.array_equal(u.numpy(), v.numpy())


# ----- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [sequential, functional])
def test_round_trip_restores_everything_and_training_continues_bit_for_bit(tmp_path, make):
    model = make()
    fit(model)
    path = str(tmp_path / "my_model.h5")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.compiled
    assert_same_state(model, loaded)
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0
    assert loaded.get_config() == model.get_config()
    x = [IMG, TOK] if make is functional else X
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    expected, got = fit(model, epochs=2), fit(loaded, epochs=2)
    for a, b in zip(expected, got):
        assert np.array_equal(a, b)


def test_restored_optimizer_state_matters(tmp_path):
    """Control for the test above: a fresh Adam continues differently."""
    model = functional()
    fit(model)
    model.save(str(tmp_path / "m.h5"))
    fresh = keras.models.load_model(str(tmp_path / "m.h5"), compile=False)
    fresh.compile(optimizer="adam", loss="mse", metrics=["mae"])
    expected, got = fit(model), fit(fresh)
    assert not all(np.array_equal(a, b) for a, b in zip(expected, got))


def test_compile_config_is_restored(tmp_path):
    model = sequential()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    fit(model)
    model.save(str(tmp_path / "m.hdf5"))
    loaded = keras.models.load_model(str(tmp_path / "m.hdf5"))
    assert type(loaded.optimizer).__name__ == "SGD"
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded._compile_config["metrics"] == ["accuracy"]
    assert_same_state(model, loaded)


def test_subclassed_registered_model_and_custom_layer_round_trip(tmp_path):
    model = Tower()
    model(X[:2, :4])
    model.compile("adam", "mse")
    model.fit(X[:6, :4], FY[:, :1].repeat(3, 1), verbose=0)
    model.save(str(tmp_path / "t.h5"))
    loaded = keras.models.load_model(str(tmp_path / "t.h5"))
    assert isinstance(loaded, Tower) and loaded.units == 3
    assert_same_state(model, loaded, same_paths=False)  # sublayer names get fresh suffixes
    assert np.array_equal(loaded.predict(X[:, :4], verbose=0), model.predict(X[:, :4], verbose=0))


@pytest.mark.parametrize("how", ["custom_objects", "scope", "registered"])
def test_custom_layer_resolves_three_ways(tmp_path, how):
    layer_cls = Scale
    if how == "registered":
        layer_cls = register_serializable("h5_model_test")(
            type("RegScale", (Scale,), {"__module__": __name__}))
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), layer_cls(3.0)])
    model.layers[-1].set_weights([np.array([1.0, 2.0, 3.0], np.float32)])
    path = str(tmp_path / "c.h5")
    model.save(path)
    if how == "custom_objects":
        loaded = keras.models.load_model(path, custom_objects={"Scale": Scale}, compile=False)
    elif how == "scope":
        with custom_object_scope({"Scale": Scale}):
            loaded = keras.models.load_model(path, compile=False)
    else:
        loaded = keras.models.load_model(path, compile=False)
        assert json.loads(h5py.File(path, "r").attrs["model_config"])["config"]["layers"][2][
            "class_name"] == "h5_model_test>RegScale"
    assert type(loaded.layers[-1]) is layer_cls and loaded.layers[-1].factor == 3.0
    assert np.array_equal(loaded.predict(X[:3, :4], verbose=0), model.predict(X[:3, :4], verbose=0))


def test_missing_custom_class_names_it_and_the_fix(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), Scale()])
    model.save(str(tmp_path / "c.h5"))
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Scale'.*"
                       r"custom_objects=\{'Scale': Scale\}.*register_serializable"):
        keras.models.load_model(str(tmp_path / "c.h5"))


def test_compile_false_and_include_optimizer_false(tmp_path):
    model = sequential()
    fit(model)
    model.save(str(tmp_path / "a.h5"))
    assert not keras.models.load_model(str(tmp_path / "a.h5"), compile=False).compiled
    model.save(str(tmp_path / "b.h5"), include_optimizer=False)
    with h5py.File(str(tmp_path / "b.h5"), "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    with pytest.warns(UserWarning, match=r"No training configuration found.*not\* compiled"):
        loaded = keras.models.load_model(str(tmp_path / "b.h5"))
    assert not loaded.compiled
    assert np.array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_weights_stream_through_write_direct_and_read_direct(tmp_path, monkeypatch):
    calls = {"write": 0, "read": 0}
    write, read = h5py.Dataset.write_direct, h5py.Dataset.read_direct
    monkeypatch.setattr(h5py.Dataset, "write_direct",
                        lambda self, *a, **k: (calls.__setitem__("write", calls["write"] + 1),
                                               write(self, *a, **k))[1])
    monkeypatch.setattr(h5py.Dataset, "read_direct",
                        lambda self, *a, **k: (calls.__setitem__("read", calls["read"] + 1),
                                               read(self, *a, **k))[1])
    model = sequential()
    fit(model)
    model.save(str(tmp_path / "m.h5"))
    keras.models.load_model(str(tmp_path / "m.h5"))
    assert calls == {"write": 12, "read": 12}  # 4 weights + 8 Adam slots; iteration is a scalar


def test_model_checkpoint_writes_whole_h5_models(tmp_path):
    model = sequential()
    pattern = str(tmp_path / "cp-{epoch:02d}.h5")
    set_random_seed(3)
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(pattern, save_weights_only=False)])
    assert sorted(os.listdir(tmp_path)) == ["cp-01.h5", "cp-02.h5"]
    loaded = keras.models.load_model(str(tmp_path / "cp-02.h5"))
    assert_same_state(model, loaded)


# ----- layout -----------------------------------------------------------------------------------
def test_layout_is_tf_keras_2(tmp_path):
    model = functional(keras.optimizers.SGD(momentum=0.9))
    fit(model)
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["keras_version"] == "2.21.0" and f.attrs["backend"] == "tensorflow"
        assert h5py.check_string_dtype(f.attrs.get_id("model_config").dtype).encoding == "ascii"
        config = json.loads(f.attrs["model_config"])
        training = json.loads(f.attrs["training_config"])
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["optimizer_weights"].attrs["weight_names"]]
        assert f["model_weights/conv2d/conv2d/kernel:0"].shape == (2, 2, 2, 3)
        assert f["optimizer_weights/SGD/m/out/kernel:0"].shape == (31, 2)
        assert f["optimizer_weights/iteration:0"][()] == 2
    assert config["class_name"] == "Functional"
    layers = {layer["name"]: layer for layer in config["config"]["layers"]}
    assert layers["img"]["config"]["optional"] is False
    assert layers["concatenate"]["inbound_nodes"] == [[["flatten", 0, 0, {}],
                                                       ["global_average_pooling1d", 0, 0, {}]]]
    assert layers["conv2d"]["config"]["kernel_initializer"] == {
        "module": "keras.initializers", "class_name": "GlorotUniform",
        "config": {"seed": None}, "registered_name": None}
    assert config["config"]["input_layers"] == [["img", 0, 0], ["tok", 0, 0]]
    assert sorted(training) == ["loss", "loss_weights", "metrics", "optimizer_config",
                                "weighted_metrics"]
    assert training["metrics"] == [["mae"]]
    assert training["optimizer_config"]["class_name"] == "Custom>SGD"
    assert training["optimizer_config"]["config"]["name"] == "SGD"
    assert names[:3] == ["iteration:0", "SGD/m/conv2d/kernel:0", "SGD/m/conv2d/bias:0"]


@pytest.mark.parametrize("name", ["sequential.h5", "functional.h5"])
def test_resaving_a_tf_keras_file_reproduces_its_configs_and_names(tmp_path, name):
    golden = os.path.join(FIXTURES, name)
    keras.models.load_model(golden).save(str(tmp_path / name))
    with h5py.File(golden, "r") as a, h5py.File(str(tmp_path / name), "r") as b:
        assert json.loads(b.attrs["model_config"]) == json.loads(a.attrs["model_config"])
        ta, tb = json.loads(a.attrs["training_config"]), json.loads(b.attrs["training_config"])
        assert tb == ta  # the loaded learning rate is tf-keras's float32 value, kept as is
        for group in ("optimizer_weights", "model_weights"):
            assert list(b[group].attrs.get("weight_names", [])) == \
                list(a[group].attrs.get("weight_names", []))
        assert list(b["model_weights"].attrs["layer_names"]) == \
            list(a["model_weights"].attrs["layer_names"])


# ----- golden files from tf-keras -----------------------------------------------------------
def test_golden_tf_keras_files_predict_the_same_and_resume():
    data = np.load(os.path.join(FIXTURES, "expected.npz"))
    seq = keras.models.load_model(os.path.join(FIXTURES, "sequential.h5"))
    np.testing.assert_allclose(seq.predict(data["seq_x"], verbose=0), data["seq_pred"],
                               rtol=1e-5, atol=1e-6)
    assert int(seq.optimizer.iterations.numpy()) == int(data["seq_iterations"]) == 1
    assert type(seq.loss).__name__ == "SparseCategoricalCrossentropy" and seq.loss.from_logits
    fn = keras.models.load_model(os.path.join(FIXTURES, "functional.h5"))
    x = [data["fn_img"], data["fn_tok"]]
    np.testing.assert_allclose(fn.predict(x, verbose=0), data["fn_pred"], rtol=1e-5, atol=1e-6)
    fn.fit(x, data["fn_y"], batch_size=4, epochs=1, verbose=0, shuffle=False)
    for i, w in enumerate(fn.get_weights()):
        # conv2d/bias feeds BatchNormalization, so its gradient is rounding noise that Adam
        # normalizes to a step of up to lr (0.01): compare it loosely.
        atol = 2e-2 if i == 1 else 2e-6
        np.testing.assert_allclose(w, data[f"fn_next_w{i}"], rtol=1e-5, atol=atol)


# ----- bad input ----------------------------------------------------------------------------
def saved(tmp_path, name="m.h5"):
    model = sequential()
    fit(model)
    path = str(tmp_path / name)
    model.save(path)
    return path


def set_attr(path, name, value):
    with h5py.File(path, "r+") as f:
        f.attrs[name] = value


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_file_is_a_format_error(tmp_path, cut):
    path = saved(tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:int(len(data) * cut)])
    with pytest.raises(FormatError, match=r"HDF5|damaged|truncated"):
        keras.models.load_model(path)


def test_not_hdf5_is_a_format_error(tmp_path):
    path = str(tmp_path / "m.h5")
    with open(path, "wb") as f:
        f.write(b"definitely not hdf5" * 100)
    with pytest.raises(FormatError, match=r"cannot be opened as one.*damaged, truncated"):
        keras.models.load_model(path)


@pytest.mark.parametrize("version, fix", [("3.1.0", r"Keras 3 and save it as '\.keras'"),
                                          ("1.2.2", "re-save the model with tf.keras 2"),
                                          ("banana", "re-save the model with tf.keras 2")])
def test_unknown_keras_version_is_refused(tmp_path, version, fix):
    path = saved(tmp_path)
    set_attr(path, "keras_version", version)
    with pytest.raises(FormatError, match=rf"keras_version '{version}'.*Keras 2 \.h5.*{fix}"):
        keras.models.load_model(path)


def test_missing_keras_version_and_other_backend_are_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "r+") as f:
        del f.attrs["keras_version"]
    with pytest.raises(FormatError, match="keras_version None"):
        keras.models.load_model(path)
    path = saved(tmp_path, "b.h5")
    set_attr(path, "backend", "theano")
    with pytest.raises(FormatError, match=r"backend 'theano'.*Fix: re-save it"):
        keras.models.load_model(path)


def test_weights_only_file_is_explained(tmp_path):
    model = sequential()
    model.save_weights(str(tmp_path / "w.h5"))
    with pytest.raises(FormatError, match=r"No model config found.*weights only.*load_weights"):
        keras.models.load_model(str(tmp_path / "w.h5"))


def test_damaged_json_and_malformed_configs(tmp_path):
    path = saved(tmp_path)
    set_attr(path, "model_config", b'{"class_name": "Sequential", "con')
    with pytest.raises(FormatError, match="'model_config' is not valid JSON"):
        keras.models.load_model(path)
    set_attr(path, "model_config", b'[1, 2]')
    with pytest.raises(FormatError, match="Expected a Keras 2 model_config"):
        keras.models.load_model(path)
    set_attr(path, "model_config", json.dumps({"class_name": "Functional", "config": {
        "name": "f", "layers": [{"class_name": "InputLayer", "config": {"name": "i"},
                                 "name": "i", "inbound_nodes": [["bad"]]}],
        "input_layers": [], "output_layers": []}}).encode())
    with pytest.raises(FormatError, match="inbound node of layer 'i'"):
        keras.models.load_model(path)


def test_config_naming_an_arbitrary_module_is_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
    config["config"]["layers"][1] = {"class_name": "system", "module": "os",
                                     "config": {"command": "echo hacked"}}
    set_attr(path, "model_config", json.dumps(config).encode())
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'system'.*never "
                                                  r"imports modules named in a file"):
        keras.models.load_model(path)


def test_optimizer_state_that_does_not_fit_is_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["optimizer_weights/Adam/m/dense/kernel:0"]
        f["optimizer_weights/Adam/m/dense/kernel:0"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ShapeError, match=r"optimizer variable 'Adam/m/dense/kernel'.*\(3, 3\)"):
        keras.models.load_model(path)
    path = saved(tmp_path, "b.h5")
    with h5py.File(path, "r+") as f:
        names = f["optimizer_weights"].attrs["weight_names"]
        f["optimizer_weights"].attrs["weight_names"] = names[:3]
    with pytest.raises(FormatError, match=r"holds 3 optimizer values but Adam has 9 variables"):
        keras.models.load_model(path)
    assert keras.models.load_model(path, compile=False).layers[0].units == 16


def test_missing_weight_dataset_is_refused(tmp_path):
    path = saved(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense_1/dense_1/bias:0"]
    with pytest.raises(FormatError, match=r"no dataset 'dense_1/bias:0'"):
        keras.models.load_model(path)


def test_save_errors_leave_the_old_file_untouched(tmp_path):
    path = saved(tmp_path)
    before = open(path, "rb").read()
    bad = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), Scale(factor={1, 2})])
    with pytest.raises(ConfigError, match="not JSON-serializable"):
        bad.save(path)
    with pytest.raises(NotBuiltError, match="cannot be saved before it is built"):
        keras.Sequential([keras.layers.Dense(2)]).save(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        keras.models.load_model(str(tmp_path / "nope.h5"))


def test_configs_keras2_cannot_express_are_refused():
    node = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}},
                     {"class_name": "__keras_tensor__", "config": {"keras_history": ["b", 0, 0]}}],
            "kwargs": {}}
    with pytest.raises(ConfigError, match=r"Layer 'x' is called with 2 positional.*Fix"):
        keras2._node_out(node, "x")
    loss = {"module": "savepoint.losses.probabilistic", "class_name":
            "SparseCategoricalCrossentropy", "config": {"axis": 1, "reduction": "sum"}}
    with pytest.raises(ConfigError, match=r"has no 'axis' argument.*Fix: use axis=-1"):
        keras2.training_to_keras2({"optimizer": loss, "loss": loss})
    with pytest.raises(FormatError, match="Expected a Keras 2 training_config"):
        keras2.training_from_keras2({"loss": "mse"})


def test_doctests():
    for module in (model_h5, keras2):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0
