"""Writing TensorFlow SavedModels without TensorFlow: files, bytes, lowering and refusals.

The live checks against TensorFlow's own loaders are tests/interop/test_saved_model_write_interop.py;
these run without TensorFlow."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import FormatError, NotBuiltError, SavepointError
from savepoint.exports.lowering import LoweringError, lower_model
from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.ops import OPS
from savepoint.saving.engine.checkpoint_io import restore_tree
from savepoint.saving.formats.saved_model import encode as pb
from savepoint.saving.formats.tf_checkpoint.proto import iter_fields
from savepoint.saving.handlers.saved_model_writer import write_saved_model

L = keras.layers


def mlp() -> keras.Model:
    model = keras.Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dropout(0.2),
                              L.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _fields(data: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    for number, _, value in iter_fields(data, "test"):
        out.setdefault(number, []).append(bytes(value) if isinstance(value, memoryview) else value)
    return out


def test_writes_the_savedmodel_files_and_a_bundle_savepoint_restores(tmp_path):
    model = mlp()
    d = str(tmp_path / "sm")
    write_saved_model(model, d)
    assert sorted(os.listdir(d)) == ["fingerprint.pb", "keras_metadata.pb", "saved_model.pb",
                                     "variables"]
    twin = mlp()
    twin.build((None, 5))
    restore_tree(twin, os.path.join(d, "variables", "variables")).expect_partial()
    for a, b in zip(model.get_weights(), twin.get_weights()):
        assert np.array_equal(a, b)


def test_saved_model_pb_holds_the_signature_and_the_saver(tmp_path):
    d = str(tmp_path / "sm")
    write_saved_model(mlp(), d)
    data = open(os.path.join(d, "saved_model.pb"), "rb").read()
    top = _fields(data)
    assert top[1] == [1]  # saved_model_schema_version
    meta = _fields(top[2][0])
    assert set(meta) == {1, 2, 3, 5, 7}  # info, graph, saver, signatures, object graph
    signature = _fields(meta[5][0])
    assert signature[1] == [b"serving_default"]
    assert b"serving_default_dense_input:0" in signature[2][0]
    assert b"saver_filename:0" in meta[3][0] and b"save/restore_all" in meta[3][0]
    metadata = open(os.path.join(d, "keras_metadata.pb"), "rb").read()
    assert b"_tf_keras_sequential" in metadata and b"training_config" in metadata


def test_the_same_model_gives_the_same_bytes(tmp_path):
    model = mlp()
    write_saved_model(model, str(tmp_path / "a"))
    write_saved_model(model, str(tmp_path / "b"))
    for name in ("saved_model.pb", "keras_metadata.pb"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_function_inputs_are_sorted_keys_then_one_resource_per_variable():
    a, b = keras.Input((2,), name="zeta"), keras.Input((3,), name="alpha")
    model = keras.Model([a, b], L.Dense(1, name="out")(L.Concatenate()([a, b])))
    low = lower_model(model)
    assert [s.key for s in low.inputs] == ["alpha", "zeta"]
    assert [name for name, _ in low.function.inputs[:2]] == ["alpha", "zeta"]
    assert [dtype for _, dtype in low.function.inputs[2:]] == [20, 20]  # DT_RESOURCE
    assert [v.path for v in low.variables] == ["out/kernel", "out/bias"]


class Doubler(L.Layer):
    def call(self, x):
        return x * 2


def test_an_unlowerable_layer_warns_naming_it_and_still_writes_the_keras_files(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2)(Doubler(name="doubler")(x)))
    with pytest.warns(UserWarning, match="without a serving signature.*'doubler' \\(Doubler\\)"):
        write_saved_model(model, str(tmp_path / "sm"))
    data = (tmp_path / "sm" / "saved_model.pb").read_bytes()
    assert b"serving_default" not in data and b"_tf_keras_network" in \
        (tmp_path / "sm" / "keras_metadata.pb").read_bytes()


def test_unsupported_options_are_refused_by_name():
    x = keras.Input((3,))
    model = keras.Model(x, L.Lambda(lambda t: t, name="code")(x))
    with pytest.raises(LoweringError, match="Layer 'code' \\(Lambda\\).*Python code"):
        lower_model(model)
    assert issubclass(LoweringError, SavepointError)


def test_an_unbuilt_model_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(NotBuiltError, match="cannot be saved before it is built"):
        write_saved_model(keras.Sequential([L.Dense(2)]), str(tmp_path / "sm"))
    assert not os.path.exists(tmp_path / "sm")
    assert os.listdir(tmp_path) == []


def test_the_builder_checks_ops_and_attrs_against_the_table():
    b = FunctionBuilder("f")
    with pytest.raises(LoweringError, match="Expected an op of the lowering table.*'Bogus'"):
        b.op("Bogus", [])
    with pytest.raises(LoweringError, match="Op MatMul: expected attrs.*missing \\['T'\\]"):
        b.op("MatMul", ["a", "b"])
    with pytest.raises(LoweringError, match="unknown \\['units'\\]"):
        b.op("Relu", ["a"], T=1, units=3)
    assert OPS["FusedBatchNormV3"].outputs[0] == "y"


def test_the_encoder_refuses_an_unknown_attr_kind():
    with pytest.raises(FormatError, match="Expected an OpDef attr type.*Received 'matrix'"):
        pb.encode_attr(pb.Attr("matrix", 1))
    with pytest.raises(FormatError, match="Expected None, bool.*Received object"):
        pb.encode_structured(object())


@pytest.mark.parametrize("layer, shape, match", [
    (L.Conv2D(2, 3, groups=2, name="grouped"), (6, 6, 4), "'grouped' \\(Conv2D\\).*groups 1"),
    (L.Resizing(3, 3, interpolation="bicubic", name="cubic"), (6, 6, 3),
     "'cubic' \\(Resizing\\).*interpolation 'bilinear' or 'nearest'"),
    (L.LayerNormalization(axis=1, name="ln"), (4, 5), "'ln'.*axes at the end of the shape"),
    (L.BatchNormalization(axis=1, name="bn"), (4, 5, 6), "'bn'.*axes at the end"),
])
def test_spatial_options_tf_cannot_express_are_refused(layer, shape, match):
    x = keras.Input(shape)
    with pytest.raises(LoweringError, match=match):
        lower_model(keras.Model(x, layer(x)))


def test_families_lower_to_the_ops_of_the_recipe():
    x = keras.Input((8, 8, 3))
    h = L.BatchNormalization()(L.DepthwiseConv2D(3)(L.Conv2D(4, 3, padding="same")(x)))
    h = L.GlobalAveragePooling2D()(L.AveragePooling2D()(L.MaxPooling2D(1)(h)))
    tokens = keras.Input((5,))  # float ids are cast, as Keras does
    e = L.GlobalMaxPooling1D()(L.LayerNormalization()(L.Embedding(10, 4)(tokens)))
    low = lower_model(keras.Model([x, tokens], L.Concatenate()([h, e])))
    ops = {node.op for node in low.function.nodes}
    assert {"Conv2D", "DepthwiseConv2dNative", "FusedBatchNormV3", "MaxPool", "AvgPool", "Mean",
            "Max", "Cast", "GatherV2", "Rsqrt", "SquaredDifference", "ConcatV2"} <= ops


def test_model_save_writes_tf_files_beside_savepoints_and_loads_as_before(tmp_path):
    from savepoint.saving import registry
    model = mlp()
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    d = str(tmp_path / "my_model")
    model.save(d, save_format="tf")
    names = set(os.listdir(d))
    assert {"saved_model.pb", "keras_metadata.pb", "fingerprint.pb", "saved_model.json",
            "fingerprint.json", "inference", "variables"} <= names
    assert registry.detect(d).name == "model_directory"
    loaded = keras.models.load_model(d)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    from savepoint.saving.api.verify import verify
    assert verify(d).format == "model_directory"  # fingerprint.json covers TF's files too


def test_model_save_of_an_unlowerable_model_warns_and_still_loads(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2)(Doubler(name="doubler")(x)))
    d = str(tmp_path / "m")
    with pytest.warns(UserWarning, match="'doubler' \\(Doubler\\)"):
        model.save(d)
    assert os.path.exists(os.path.join(d, "keras_metadata.pb"))
    loaded = keras.models.load_model(d, custom_objects={"Doubler": Doubler})
    assert len(loaded.get_weights()) == 2


@pytest.mark.parametrize("dtype", ["float64", "mixed_float16"])
def test_non_float32_layers_are_refused_rather_than_written_wrong(dtype):
    x = keras.Input((3,), dtype="float64" if dtype == "float64" else "float32")
    model = keras.Model(x, L.Dense(2, dtype=dtype, name="wide")(x))
    match = "input '.*' of dtype float64" if dtype == "float64" else \
        "'wide' \\(Dense\\).*expected float32"
    with pytest.raises(LoweringError, match=match):
        lower_model(model)


def test_include_optimizer_false_writes_no_training_config(tmp_path):
    model = mlp()
    model.save(str(tmp_path / "m"), include_optimizer=False)
    metadata = (tmp_path / "m" / "keras_metadata.pb").read_bytes()
    assert b"training_config" not in metadata and b"_tf_keras_sequential" in metadata
    assert b"optimizer" not in (tmp_path / "m" / "saved_model.pb").read_bytes()


def test_string_and_bfloat16_inputs_save_without_a_signature_not_a_crash(tmp_path):
    for dtype in ("string", "bfloat16"):
        x = keras.Input((1,) if dtype == "string" else (3,), dtype=dtype)
        with pytest.raises(LoweringError, match=f"dtype {dtype}"):
            lower_model(keras.Model(x, L.Activation("linear")(x)))


def test_an_rnn_model_saves_its_keras_files_with_a_warning(tmp_path):
    # RNN cells sit under a list in the object graph: their config scope is the RNN layer
    # (a variable number of steps cannot be unrolled: no signature, the Keras files still)
    x = keras.Input((None, 3))
    model = keras.Model(x, L.Dense(1)(L.LSTM(2, name="lstm")(x)))
    with pytest.warns(UserWarning, match="'lstm' \\(LSTM\\).*fixed number of timesteps"):
        write_saved_model(model, str(tmp_path / "sm"))
    assert b"_tf_keras_layer" in (tmp_path / "sm" / "keras_metadata.pb").read_bytes()
