"""TF-op layers (issue 8.6): tf.keras 2's TFOpLambda/SlicingOpLambda models load and predict what
REAL tf-keras predicted (fixtures from tools/make_tfop_fixtures.py); arithmetic, slicing and
``keras.backend`` functions on savepoint's symbolic tensors record the same layers; unknown ops
and unsupported arguments raise."""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, UnknownObjectError
from savepoint.layers.tf_op import OPS, SlicingOpLambda, TFOpLambda
from savepoint.layers.tf_op.keras3_ops import _TABLE
from savepoint.layers.tf_op.layer import spec_from_index
from savepoint.layers.tf_op.ops import index_from_spec
from savepoint.saving.mapping.dialects import keras2, keras3
from savepoint.saving.engine.model_config import model_to_config

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tfop")
NAMES = ["arith", "shapes", "nn", "more"]


def _fixture(name):
    data = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [data[k] for k in sorted(data) if k.startswith("x")]
    ys = [data[f"y{i}"] for i in range(sum(k.startswith("y") for k in data))]
    return xs if len(xs) > 1 else xs[0], ys


@pytest.mark.parametrize("name", NAMES)
def test_tf_keras_h5_predicts_as_tf_keras(name):
    x, expected = _fixture(name)
    model = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"), compile=False)
    got = [np.asarray(p) for p in model(x)]
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape and g.dtype == e.dtype, (i, g.shape, e.shape, g.dtype, e.dtype)
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=f"output {i}")


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_tf_keras(name):
    """Gradients of the fixture's weighted sum of float outputs (tools/make_tfop_fixtures.py's
    ``gradients``) w.r.t. the inputs and the Dense weights."""
    data = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"), compile=False)
    xs = [torch.tensor(data[k], requires_grad=data[k].dtype == np.float32)
          for k in sorted(data) if k.startswith("x")]
    outs = model(xs if len(xs) > 1 else xs[0])
    loss = sum((o * torch.sin(torch.arange(o.numel(), dtype=torch.float32)).reshape(o.shape))
               .sum() for o in outs if o.dtype == torch.float32)
    weights = [w.value if hasattr(w, "value") else w for w in model.trainable_weights]
    sources = [x for x in xs if x.requires_grad] + list(weights)
    grads = dict(zip(map(id, sources), torch.autograd.grad(loss, sources, allow_unused=True)))
    for i, x in enumerate(xs):
        g = grads.get(id(x))
        if g is not None:  # integer inputs have no gradient (TF's is None, stored as zeros)
            np.testing.assert_allclose(g.numpy(), data[f"gx{i}"], rtol=1e-5, atol=1e-5)
    grads = [grads[id(w)] for w in weights]
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g.numpy(), data[f"gw{i}"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_tf_keras_configs_come_back_unchanged(name, tmp_path):
    """Loaded and saved again, the TF-op layers' configs and nodes are what tf.keras wrote."""
    import h5py
    model = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"), compile=False)
    model.save(str(tmp_path / "again.h5"))

    def ops(path):
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
        return {l["name"]: (l["class_name"], l["config"]["function"], l["inbound_nodes"])
                for l in config["config"]["layers"] if "function" in l["config"]}
    assert ops(str(tmp_path / "again.h5")) == ops(os.path.join(FIXTURES, f"{name}.h5"))


def _symbolic_model():
    K = keras.backend
    x = keras.Input((4, 6), name="x")
    h = keras.layers.Dense(6, name="dense")(x)
    hard_swish = h * keras.layers.ReLU(6.0)(h + 3.0) * (1.0 / 6.0)
    outs = [hard_swish, 2.0 - x, x / 3.0, -x, x ** 2, abs(x), x[:, 0], x[:, 1:3, ::2],
            x[..., None, 0], x @ np.ones((6, 3), "float32"), K.cast(x >= 0.5, "float32"),
            K.mean(x, axis=1, keepdims=True), K.sum(x, axis=-1), K.sqrt(x),
            K.concatenate([x, h]), K.squeeze(K.expand_dims(x, 1), 1),
            K.permute_dimensions(x, (0, 2, 1)), K.clip(x, -0.5, 0.5), K.relu(h, max_value=6.0),
            K.softmax(h), K.reshape(x, (-1, 24)), K.maximum(x, h), K.square(h), K.exp(h * 0.1)]
    return keras.Model(x, outs)


def test_symbolic_arithmetic_records_tf_keras_layers():
    keras.backend.clear_session()
    model = _symbolic_model()
    functions = [l.function for l in model.layers if isinstance(l, TFOpLambda)]
    assert functions[:3] == ["__operators__.add", "math.multiply", "math.multiply"] or \
        {"__operators__.add", "math.multiply", "nn.relu6"} <= set(functions)
    names = {l.name for l in model.layers}
    assert {"tf.__operators__.add", "tf.math.multiply_1", "tf.__operators__.getitem_2",
            "tf.math.reduce_mean", "tf.math.maximum", "tf.compat.v1.transpose"} <= names
    slicers = [l for l in model.layers if isinstance(l, SlicingOpLambda)]
    assert len(slicers) == 3
    x = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    out = [np.asarray(o) for o in model(x)]
    np.testing.assert_allclose(out[1], 2.0 - x)
    np.testing.assert_array_equal(out[7], x[:, 1:3, ::2])
    np.testing.assert_array_equal(out[8], x[..., None, 0])
    np.testing.assert_allclose(out[13], np.sqrt(np.maximum(x, 0.0)))
    assert [tuple(t.shape) for t in model.outputs][:9] == [
        (None, 4, 6)] * 6 + [(None, 6), (None, 2, 3), (None, 4, 1)]


def test_keras2_nodes_are_written_as_tf_keras_writes_them():
    keras.backend.clear_session()
    x = keras.Input((4, 6), name="x")
    model = keras.Model(x, [2.0 - x, x[:, 0], keras.backend.concatenate([x, x])])
    layers = {l["name"]: l for l in keras2.model_to_keras2(model_to_config(model))["config"][
        "layers"]}
    assert layers["tf.math.subtract"]["inbound_nodes"] == [
        ["_CONSTANT_VALUE", -1, 2.0, {"y": ["x", 0, 0]}]]
    assert layers["tf.__operators__.getitem"]["inbound_nodes"] == [
        ["x", 0, 0, {"slice_spec": [{"start": None, "stop": None, "step": None}, 0]}]]
    assert layers["tf.concat"]["inbound_nodes"] == [[["x", 0, 0, {"axis": 2}],
                                                     ["x", 0, 0, {"axis": 2}]]]
    assert layers["tf.concat"]["class_name"] == "TFOpLambda"
    assert layers["tf.concat"]["config"] == {"name": "tf.concat", "trainable": True,
                                             "dtype": "float32", "function": "concat"}


def test_layer_configs_round_trip_through_both_dialects():
    keras.backend.clear_session()
    model = _symbolic_model()
    native = model_to_config(model)
    back2 = keras2.model_from_keras2(json.loads(json.dumps(keras2.model_to_keras2(native))))
    back3, _ = keras3.from_keras3(json.loads(json.dumps(keras3.to_keras3(native, None))))
    rebuilt = keras.Model.from_config(back2["config"])
    assert [l.get_config() for l in rebuilt.layers] == [l.get_config() for l in model.layers]
    # Keras 3 has one operation per computation: TF aliases (compat.v1.squeeze / squeeze)
    # come back as one name, the same op
    rebuilt = keras.Model.from_config(back3["config"])
    for a, b in zip(rebuilt.layers, model.layers):
        a, b = a.get_config(), b.get_config()
        if "function" in a:
            assert _TABLE[a.pop("function")][:2] == _TABLE[b.pop("function")][:2]
        assert a == b


def test_slice_specs_convert_both_ways():
    index = (slice(None), slice(1, 3), Ellipsis, None, -1)
    spec = spec_from_index(index)
    assert spec == [{"start": None, "stop": None, "step": None},
                    {"start": 1, "stop": 3, "step": None}, {"class_name": "__ellipsis__"}, None, -1]
    assert index_from_spec(spec) == index
    assert index_from_spec({"start": 1, "stop": None, "step": 2}) == slice(1, None, 2)


def test_unknown_op_lists_the_supported_ones():
    with pytest.raises(UnknownObjectError, match=r"Unknown TF op 'io.read_file'.*Expected one of "
                                                 r"\[.*'math.multiply'.*\]"):
        TFOpLambda("io.read_file")
    with pytest.raises(UnknownObjectError, match=r"Unknown TF op '__import__'"):
        TFOpLambda.from_config({"name": "x", "function": "__import__"})
    with pytest.raises(UnknownObjectError, match=r"Expected SlicingOpLambda's function to be "
                                                 r"'__operators__.getitem'. Received 'reshape'"):
        SlicingOpLambda("reshape")


def test_unknown_op_in_a_tf_keras_file_is_refused(tmp_path):
    import h5py
    import shutil
    path = str(tmp_path / "bad.h5")
    shutil.copy(os.path.join(FIXTURES, "arith.h5"), path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = f.attrs["model_config"].replace('"math.exp"', '"os.system"')
    with pytest.raises(UnknownObjectError, match=r"Unknown TF op 'os.system'.*Expected one of"):
        keras.models.load_model(path, compile=False)


def test_bad_indices_and_arguments_raise():
    x = keras.Input((4,))
    with pytest.raises(ConfigError, match=r"Expected a slice step > 0 .*Received step=-1"):
        x[:, ::-1]
    with pytest.raises(ConfigError, match=r"Expected an index of ints, slices, None and \.\.\. "
                                          r"on a symbolic tensor. Received 'a'"):
        x["a"]
    with pytest.raises(ConfigError, match=r"supports alpha=0, threshold=0 and max_value None or 6"):
        keras.backend.relu(x, alpha=0.1)
    with pytest.raises(ConfigError, match=r"tf.image.resize: expected method in"):
        OPS["image.resize"](torch.zeros(1, 2, 2, 1), size=(3, 3), method="lanczos5")
    with pytest.raises(ConfigError, match=r"tf.where: expected both x and y"):
        OPS["where"](torch.ones(2) > 0)
    with pytest.raises(TypeError, match="Iterating over a symbolic tensor is not supported"):
        list(x)


def test_backend_functions_stay_eager_on_concrete_tensors():
    out = keras.backend.mean(np.ones((2, 3), "float32"), axis=1)
    assert isinstance(out, torch.Tensor) and out.tolist() == [1.0, 1.0]


def test_keras3_symbolic_ops_load_as_tf_op_layers():
    """A ``.keras`` Keras 3 wrote with symbolic ops (tools/make_tfop_fixtures.py --keras3)
    loads as TF-op layers and predicts what Keras 3 predicted."""
    data = np.load(os.path.join(FIXTURES, "keras3_ops.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "keras3_ops.keras"), compile=False)
    assert {type(l) for l in model.layers} >= {TFOpLambda, SlicingOpLambda}
    got = [np.asarray(p) for p in model(data["x0"])]
    expected = [data[f"y{i}"] for i in range(len(got))]
    assert len(got) == sum(k.startswith("y") for k in data)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape, (i, g.shape, e.shape)
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=f"output {i}")


def test_floor_division_and_modulo_record_tf_keras_ops(tmp_path):
    keras.backend.clear_session()
    x = keras.Input((3,))
    model = keras.Model(x, [x // 0.7, x % 0.7, 2.0 // x])
    assert [l.function for l in model.layers[1:]] == ["compat.v1.floor_div", "math.floormod",
                                                      "compat.v1.floor_div"]
    data = np.array([[-1.5, 0.3, 2.2]], "float32")
    out = [np.asarray(o) for o in model(data)]
    np.testing.assert_allclose(out[0], np.floor_divide(data, np.float32(0.7)))
    np.testing.assert_allclose(out[1], np.mod(data, np.float32(0.7)), rtol=1e-6)
    model.save(str(tmp_path / "m.keras"))  # Keras 3's FloorDivide / Mod
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    for a, b in zip(model(data), loaded(data)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_op_without_keras3_twin_is_refused_in_keras_files(tmp_path):
    model = keras.models.load_model(os.path.join(FIXTURES, "more.h5"), compile=False)
    with pytest.raises(ConfigError, match=r"TF op 'math.argmax' \(layer 'tf.math.argmax'\) has "
                                          r"no Keras 3 operation.*Fix: save as .h5 or a model "
                                          r"directory"):
        model.save(str(tmp_path / "m.keras"))
    model.save(str(tmp_path / "m.h5"))  # tf.keras's own format takes every op


def test_unknown_keras3_operation_is_refused():
    from savepoint.layers.tf_op.keras3_ops import from_keras3_op
    entry = {"module": "keras.src.ops.numpy", "class_name": "Einsum", "name": "einsum",
             "config": {"name": "einsum"}, "inbound_nodes": []}
    with pytest.raises(UnknownObjectError, match=r"Unknown Keras 3 operation "
                                                 r"keras.src.ops.numpy.Einsum"):
        from_keras3_op(entry)



def test_activation_recorders_record_tf_keras_ops():
    """The recorders for keras.activations on symbolic tensors (not installed yet, see
    backend_ops.ACTIVATIONS) record what tf.keras records."""
    from savepoint.layers.tf_op.backend_ops import ACTIVATIONS
    keras.backend.clear_session()
    x = keras.Input((3,))
    names = [ACTIVATIONS[n](x) for n in ("relu", "softmax", "swish", "gelu", "hard_sigmoid",
                                          "exponential")]
    assert [t._history[0].name for t in names] == [
        "tf.nn.relu", "tf.nn.softmax", "tf.nn.silu", "tf.nn.gelu", "tf.clip_by_value",
        "tf.math.exp"]
    with pytest.raises(ConfigError, match=r"keras.backend.elu on a symbolic tensor supports "
                                          r"only the default arguments"):
        ACTIVATIONS["elu"](x, alpha=0.5)


def test_numpy_operands_on_the_left_defer_to_the_symbolic_tensor():
    keras.backend.clear_session()
    x = keras.Input((3,))
    y = np.full((3,), 2.0, "float32") * x
    assert isinstance(y, keras.layers.KerasTensor) and y.shape == (None, 3)
    assert y._history[0].function == "math.multiply"
    out = keras.Model(x, y)(np.ones((1, 3), "float32"))
    assert np.asarray(out).tolist() == [[2.0, 2.0, 2.0]]
