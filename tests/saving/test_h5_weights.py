"""HDF5 weights: Keras 2 ``w.h5`` and Keras 3 ``m.weights.h5`` layouts, golden files, errors."""

from __future__ import annotations

import doctest
import importlib.util
import os
import warnings

import h5py
import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import (CheckpointNotFoundError, ConfigError, DTypeError, FormatError,
                              OverwriteError, ShapeError)
from savepoint.saving.handlers import h5_weights
from savepoint.saving.formats import h5 as h5_format

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "h5")


def _zoo():
    spec = importlib.util.spec_from_file_location(
        "sp_keras_models", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
            __file__))), "interop", "keras_models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str) -> keras.Model:
    """The architectures of tools/make_h5_fixtures.py, in savepoint."""
    return _zoo().h5_fixture(keras, name)


class Sub(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.b = keras.layers.Dense(2)
        self.a = keras.layers.Dense(1)
        self.blocks = [keras.layers.Dense(2), keras.layers.Dense(2)]

    def call(self, x):
        return self.a(self.b(self.blocks[1](self.blocks[0](x))))


def nested() -> keras.Model:
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="inner")
    x = keras.Input((4,))
    return keras.Model(x, keras.layers.Dense(1)(inner(x)))


def family(name: str) -> tuple[keras.Model, np.ndarray]:
    rng = np.random.default_rng(0)
    if name == "sub":
        model = Sub()
        model(np.zeros((1, 3), "float32"))
        return model, rng.standard_normal((4, 3)).astype("float32")
    if name == "nested":
        return nested(), rng.standard_normal((4, 4)).astype("float32")
    x = np.load(os.path.join(FIXTURES, f"{name}.tf_keras.npz"))["x"]
    return build(name), x


def structure(path: str) -> dict:
    """Every group/dataset path -> (kind, shape, attributes with their HDF5 string types)."""
    out = {}
    with h5py.File(path, "r") as f:
        def attrs(obj):
            found = {}
            for key in obj.attrs:
                t = h5py.h5a.open(obj.id, key.encode()).get_type()
                cset = t.get_cset() if isinstance(t, h5py.h5t.TypeStringID) else None
                found[key] = (t.get_class(), cset)
            return found
        out["/"] = ("group", None, attrs(f))
        f.visititems(lambda name, obj: out.__setitem__(name, (
            "dataset" if isinstance(obj, h5py.Dataset) else "group",
            getattr(obj, "shape", None), attrs(obj))))
    return out


def assert_same_weights(a: keras.Model, b: keras.Model) -> None:
    assert len(a.weights) == len(b.weights)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert wa.dtype == wb.dtype and np.array_equal(wa, wb)


# ----- layouts match what tf-keras 2.21 and Keras 3 write ----------------------------------
def test_h5_layout_is_tf_keras_layout(tmp_path):
    model = build("seq")
    model.save_weights(str(tmp_path / "w.h5"))
    ours, theirs = structure(str(tmp_path / "w.h5")), structure(f"{FIXTURES}/seq.h5")
    assert ours == theirs  # same groups, datasets, shapes and attribute types
    with h5py.File(str(tmp_path / "w.h5"), "r") as f:
        assert list(f.attrs["layer_names"]) == ["dense", "batch_normalization", "dense_1"]
        assert f.attrs["backend"] == "tensorflow" and f.attrs["keras_version"] == "2.21.0"
        assert list(f["dense"].attrs["weight_names"]) == ["dense/kernel:0", "dense/bias:0"]
        assert f["top_level_model_weights"].attrs["weight_names"].dtype == np.float64


def test_weights_h5_layout_is_keras3_layout(tmp_path):
    model = build("seq")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((2, 4)), np.ones((2, 3)), verbose=0)
    model.save_weights(str(tmp_path / "m.weights.h5"))
    ours, theirs = structure(str(tmp_path / "m.weights.h5")), structure(
        f"{FIXTURES}/seq.weights.h5")
    assert sorted(ours) == sorted(theirs)
    assert {k: v[:2] for k, v in ours.items()} == {k: v[:2] for k, v in theirs.items()}
    assert ours["layers/dense/vars"][2] == theirs["layers/dense/vars"][2]  # utf-8 "name"
    with h5py.File(str(tmp_path / "m.weights.h5"), "r") as f:
        assert f["vars"].attrs["name"] == "sequential"
        assert f["optimizer/vars"].attrs["name"] == "adam"
        assert int(f["optimizer/vars/0"][()]) == 1
        assert float(f["optimizer/vars/1"][()]) == np.float32(0.01)


def test_keras3_paths_for_subclassed_and_nested_models(tmp_path):
    # The paths real Keras 3.15 writes for these models (dumped with h5py).
    model, _ = family("sub")
    model.save_weights(str(tmp_path / "s.weights.h5"))
    groups = {k for k, v in structure(str(tmp_path / "s.weights.h5")).items()
              if k.endswith("vars")}
    assert groups == {"a/vars", "b/vars", "blocks/dense/vars", "blocks/dense_1/vars", "vars"}
    model, _ = family("nested")
    model.save_weights(str(tmp_path / "n.weights.h5"))
    groups = {k for k, v in structure(str(tmp_path / "n.weights.h5")).items()
              if k.endswith("vars")}
    assert groups == {"layers/input_layer/vars", "layers/sequential/layers/dense/vars",
                      "layers/sequential/vars", "layers/dense/vars", "vars"}


def test_keras3_snake_case_names():
    names = ["Conv2D", "BatchNormalization", "GlobalAveragePooling1D", "MaxPooling2D",
             "InputLayer", "LayerNormalization", "Functional"]
    assert [h5_weights._snake_case(n) for n in names] == [
        "conv2d", "batch_normalization", "global_average_pooling1d", "max_pooling2d",
        "input_layer", "layer_normalization", "functional"]


# ----- golden files written by real tf-keras 2.21 and Keras 3 -------------------------------
@pytest.mark.parametrize("side,suffix", [("tf_keras", ".h5"), ("keras3", ".weights.h5")])
@pytest.mark.parametrize("name", ["seq", "conv", "emb"])
def test_golden_files_load_with_same_predictions(name, side, suffix):
    expected = np.load(os.path.join(FIXTURES, f"{name}.{side}.npz"))
    model = build(name)
    model.load_weights(os.path.join(FIXTURES, name + suffix))
    weights = model.get_weights()
    assert len(weights) == len([n for n in expected.files if n.startswith("w")])
    for i, w in enumerate(weights):
        assert np.array_equal(w, expected[f"w{i}"])
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               rtol=1e-5, atol=1e-6)


def test_keras3_optimizer_state_restores_into_built_and_unbuilt_optimizers():
    expected = np.load(os.path.join(FIXTURES, "seq.keras3.npz"))
    slots = sorted((n for n in expected.files if n.startswith("opt")), key=lambda n: int(n[3:]))
    for build_first in (True, False):
        model = build("seq")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.5), loss="mse")
        if build_first:
            model.optimizer.build(model.trainable_weights)
        model.load_weights(os.path.join(FIXTURES, "seq.weights.h5"))
        opt = model.optimizer
        assert int(opt.iterations.numpy()) == int(expected["iterations"]) == 2
        assert np.float32(opt.learning_rate) == np.float32(expected["learning_rate"])
        if not build_first:
            opt.build(model.trainable_weights)  # deferred slots are applied now
        ours = opt.variables[1:]
        assert len(ours) == len(slots) == 12
        for var, name in zip(ours, slots):
            assert np.array_equal(var.numpy(), expected[name])


# ----- round trips: every family, both formats -------------------------------------------
@pytest.mark.parametrize("filename", ["w.h5", "w.hdf5", "m.weights.h5"])
@pytest.mark.parametrize("name", ["seq", "conv", "emb", "sub", "nested"])
def test_round_trip_every_family(tmp_path, name, filename):
    source, x = family(name)
    if name == "seq":  # move BatchNorm statistics away from their initial values
        source.compile(optimizer="adam", loss="mse")
        source.fit(x, np.ones((len(x), 3)), verbose=0)
    source.save_weights(str(tmp_path / filename))
    keras.backend.clear_session()
    target, _ = family(name)
    assert not all(np.array_equal(a, b) for a, b in zip(source.get_weights(),
                                                        target.get_weights()))
    target.load_weights(str(tmp_path / filename))
    assert_same_weights(source, target)
    np.testing.assert_array_equal(source.predict(x, verbose=0), target.predict(x, verbose=0))


def test_keras3_round_trip_resumes_adam_exactly(tmp_path):
    x, y = np.random.default_rng(1).standard_normal((6, 4)), np.ones((6, 3))
    source = build("seq")
    source.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    source.fit(x, y, epochs=2, batch_size=3, verbose=0)
    source.save_weights(str(tmp_path / "m.weights.h5"))
    target = build("seq")
    target.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    target.load_weights(str(tmp_path / "m.weights.h5"))
    source.fit(x, y, batch_size=3, shuffle=False, verbose=0)
    target.fit(x, y, batch_size=3, shuffle=False, verbose=0)
    assert_same_weights(source, target)
    assert int(target.optimizer.iterations.numpy()) == 6


def test_whole_model_h5_weights_group_loads(tmp_path):
    source = build("conv")
    path = str(tmp_path / "w.h5")
    source.save_weights(path)
    with h5py.File(path, "r") as f, h5py.File(str(tmp_path / "model.h5"), "w") as g:
        for key in f:
            f.copy(f[key], g, name=f"model_weights/{key}")
        g["model_weights"].attrs.update(f.attrs)
    target = build("conv")
    target.load_weights(str(tmp_path / "model.h5"))
    assert_same_weights(source, target)


# ----- by_name and skip_mismatch (Keras 2 semantics) --------------------------------------
def test_by_name_matches_layers_by_name_and_skips_mismatches(tmp_path):
    source = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="a"),
                               keras.layers.Dense(2, name="b")])
    source.save_weights(str(tmp_path / "w.h5"))
    target = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="a"),
                               keras.layers.Dense(5, name="b"), keras.layers.Dense(1, name="c")])
    before_b = target.layers[1].get_weights()
    with pytest.raises(ShapeError, match=r'Shape mismatch for layer "b" weight "kernel".*'
                                         r"\(3, 2\).*\(3, 5\)"):
        target.load_weights(str(tmp_path / "w.h5"), by_name=True)
    assert not np.array_equal(target.layers[0].get_weights()[0], source.layers[0].get_weights()[0])
    with pytest.warns(UserWarning, match=r'Skipping loading weights for layer "b" due to '
                                         r"mismatch in shape for weight (kernel|bias)"):
        target.load_weights(str(tmp_path / "w.h5"), by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(target.layers[0].get_weights()[0],
                                  source.layers[0].get_weights()[0])
    np.testing.assert_array_equal(target.layers[1].get_weights()[0], before_b[0])


def test_skip_mismatch_requires_by_name_and_keras3_refuses_by_name(tmp_path):
    model = build("seq")
    model.save_weights(str(tmp_path / "w.h5"))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    with pytest.raises(ConfigError, match="skip_mismatch=True, by_name must also be True"):
        model.load_weights(str(tmp_path / "w.h5"), skip_mismatch=True)
    with pytest.raises(ConfigError, match="by_name=True is not supported for Keras 3"):
        model.load_weights(str(tmp_path / "m.weights.h5"), by_name=True)


def test_keras3_skip_mismatch_skips_layers_that_do_not_fit(tmp_path):
    build("seq").save_weights(str(tmp_path / "m.weights.h5"))
    target = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                               keras.layers.BatchNormalization(), keras.layers.Dense(5)])
    before = target.layers[2].get_weights()
    with pytest.warns(UserWarning,
                      match=r"Skipping layer .dense_\d+.: the shapes of its variables"):
        target.load_weights(str(tmp_path / "m.weights.h5"), skip_mismatch=True)
    np.testing.assert_array_equal(target.layers[2].get_weights()[0], before[0])


# ----- bad input: clear errors, nothing assigned ------------------------------------------
def _unchanged_after(model: keras.Model, path: str, error, match: str, **kwargs) -> None:
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.load_weights(path, **kwargs)
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)


def test_architecture_mismatches_name_file_layer_and_weight(tmp_path):
    path = str(tmp_path / "w.h5")
    keras.Sequential([keras.layers.Dense(3, input_shape=(4,)),
                      keras.layers.Dense(2)]).save_weights(path)
    wider = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(7)])
    _unchanged_after(wider, path, ShapeError,
                     r'Shape mismatch for layer "dense_3" weight "kernel": HDF5 file .*w\.h5.* '
                     r"has \(3, 2\).*model has \(3, 7\)")
    deeper = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2),
                               keras.layers.Dense(1)])
    _unchanged_after(deeper, path, ShapeError,
                     r"Layer count mismatch .*Model expected 3 layers with weights.*found 2")
    no_bias = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)),
                                keras.layers.Dense(2, use_bias=False)])
    _unchanged_after(no_bias, path, ShapeError,
                     r"expects 1 weights, but the saved weights have 2 elements")


def test_keras3_mismatches_raise_and_assign_nothing(tmp_path):
    path = str(tmp_path / "m.weights.h5")
    build("seq").save_weights(path)
    no_bias = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                                keras.layers.BatchNormalization(),
                                keras.layers.Dense(3, use_bias=False)])
    _unchanged_after(no_bias, path, ShapeError,
                     r"Layer 'dense_\d+' expected 1 variables, but received 2 variables")
    wider = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                              keras.layers.BatchNormalization(), keras.layers.Dense(4)])
    _unchanged_after(wider, path, ShapeError,
                     r'Shape mismatch for layer "dense_\d+" variable "kernel".*\(8, 3\).*\(8, 4\)')


def test_damaged_and_foreign_files(tmp_path):
    model = build("seq")
    _unchanged_after(model, str(tmp_path / "missing.h5"), CheckpointNotFoundError,
                     "does not exist")
    (tmp_path / "text.h5").write_bytes(b"not an hdf5 file at all")
    _unchanged_after(model, str(tmp_path / "text.h5"), FormatError,
                     r"cannot be opened as one .*damaged, truncated or in another format")
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    data = open(path, "rb").read()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    _unchanged_after(model, str(tmp_path / "cut.h5"), FormatError, "HDF5 file")
    with h5py.File(str(tmp_path / "plain.h5"), "w") as f:
        f["x"] = np.ones(3)
    _unchanged_after(model, str(tmp_path / "plain.h5"), FormatError,
                     r"not a Keras 2 weights file: expected a root attribute 'layer_names'")


def test_missing_groups_datasets_and_wrong_dtypes(tmp_path):
    model = build("seq")
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["dense_1/dense_1/bias:0"]
    _unchanged_after(model, path, FormatError,
                     r"has no dataset 'dense_1/bias:0' in group 'dense_1' \(for layer "
                     r'"dense_1" weight "bias"\)')
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["batch_normalization"]
    _unchanged_after(model, path, FormatError, r"has no group 'batch_normalization' \(for "
                                               r"layer 'batch_normalization' listed")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["dense/dense/kernel:0"]
        f.create_dataset("dense/dense/kernel:0", data=np.ones((4, 8), np.int32))
    _unchanged_after(model, path, DTypeError,
                     r'Dtype mismatch for layer "dense" weight "kernel".*int32.*float32')


def test_unwritten_dataset_and_absurd_sizes_are_refused(tmp_path):
    model = build("seq")
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["dense/dense/bias:0"]
        f.create_dataset("dense/dense/bias:0", shape=(8,), dtype="float32")  # never written
    _unchanged_after(model, path, FormatError, "has no data")
    with h5py.File(path, "a") as f:
        f.create_dataset("huge", shape=(10 ** 9,), dtype="float32")
    with h5_format.H5Reader(path) as reader:
        with pytest.raises(FormatError, match=r"claims shape \(1000000000,\), more bytes"):
            reader.read_array("", "huge", "a test value")


# ----- saving: atomic, overwrite, bad models ----------------------------------------------
def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path):
    path = str(tmp_path / "w.h5")
    model = build("seq")
    model.save_weights(path)
    before = open(path, "rb").read()
    half = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)),
                             keras.layers.Dense(2, dtype="bfloat16")])
    for target in (path, str(tmp_path / "m.weights.h5")):
        with pytest.raises(DTypeError, match=r"is bfloat16, which the HDF5 weights formats do "
                                             r"not store.*cast the model to float32"):
            half.save_weights(target)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["w.h5"]
    with pytest.raises(OverwriteError, match="overwrite=False"):
        model.save_weights(path, overwrite=False)


def test_duplicate_layer_names_are_refused(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(2, name="same")(
        keras.layers.Dense(2, name="same")(x)))
    with pytest.raises(ConfigError, match=r"expected unique layer names, but \['same'\]"):
        model.save_weights(str(tmp_path / "w.h5"))
    assert os.listdir(tmp_path) == []


# ----- the format module -------------------------------------------------------------------
def test_long_name_lists_are_split_like_keras2(tmp_path):
    path = str(tmp_path / "a.h5")
    names = [f"layer_{i:05d}_" + "x" * 80 for i in range(1500)]
    with h5_format.H5Writer(path) as writer:
        writer.set_attrs("", {"layer_names": [n.encode() for n in names]})
    with h5py.File(path, "r") as f:
        pieces = sorted(k for k in f.attrs)
        assert pieces[0] == "layer_names0" and len(pieces) > 1
        for key in pieces:  # each piece fits HDF5's object header as Keras 2 measures it
            assert len(f.attrs[key]) * 91 <= h5_format.HDF5_OBJECT_HEADER_LIMIT
    with h5_format.H5Reader(path) as reader:
        assert reader.string_list("", "layer_names") == names


def test_weights_stream_through_write_direct_and_read_direct(tmp_path, monkeypatch):
    calls = {"write": 0, "read": 0}
    write, read = h5py.Dataset.write_direct, h5py.Dataset.read_direct

    def spy_write(self, source, *args, **kwargs):
        calls["write"] += 1
        return write(self, source, *args, **kwargs)

    def spy_read(self, dest, *args, **kwargs):
        calls["read"] += 1
        return read(self, dest, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "write_direct", spy_write)
    monkeypatch.setattr(h5py.Dataset, "read_direct", spy_read)
    model = build("seq")
    for name in ("w.h5", "m.weights.h5"):
        calls.update(write=0, read=0)
        model.save_weights(str(tmp_path / name))
        model.load_weights(str(tmp_path / name))
        assert calls == {"write": 8, "read": 8}  # one per weight


def test_doctests():
    for module in (h5_format, h5_weights):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0
