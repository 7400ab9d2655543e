"""model.export(format="litert") without an interpreter: the flatbuffer's structure (read back
with flatbuffers' own Table reader), the op translation (weights transposed, patterns folded,
dynamic batch), int8 weights, and every refusal's message. The interpreter runs the files in
tests/interop/test_litert_interop.py."""

from __future__ import annotations

import os

import numpy as np
import pytest
from flatbuffers import table

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.exports.litert import to_tflite
from savepoint.exports.litert.convert import TRANSLATORS, convert
from savepoint.exports.litert.graph import MIN_QUANTIZED_ELEMENTS, quantize_per_channel
from savepoint.exports.litert.schema import BUILTINS
from savepoint.exports.lowering import LoweringError, lower_model
from savepoint.utils import set_random_seed

L = keras.layers


def _model_def(model, quantize=None):
    return convert(lower_model(model), quantize, model)


def _mlp():
    keras.backend.clear_session()  # layer names from dense, whatever ran before
    set_random_seed(1)
    return keras.Sequential([L.Dense(40, activation="relu", input_shape=(30,)), L.Dropout(0.5),
                             L.Dense(3)])


# ----------------------------------------------------------------------------- the file
class _Reader:
    """Just enough of a flatbuffer reader to check the root tables (vtable slots)."""

    def __init__(self, data: bytes):
        self.data = bytearray(data)

    def root(self) -> table.Table:
        return table.Table(self.data, int.from_bytes(self.data[:4], "little"))

    def field(self, t: table.Table, slot: int) -> int:
        return t.Offset(4 + 2 * slot)

    def uint(self, t: table.Table, slot: int) -> int:
        o = self.field(t, slot)
        return int.from_bytes(self.data[t.Pos + o:t.Pos + o + 4], "little") if o else 0

    def vector(self, t: table.Table, slot: int) -> list[table.Table]:
        o = self.field(t, slot)
        start, n = t.Vector(o), t.VectorLen(o)
        return [table.Table(self.data, t.Indirect(start + 4 * i)) for i in range(n)]

    def ints(self, t: table.Table, slot: int) -> list[int]:
        o = self.field(t, slot)
        start, n = t.Vector(o), t.VectorLen(o)
        return np.frombuffer(bytes(self.data[start:start + 4 * n]), "<i4").tolist()

    def string(self, t: table.Table, slot: int) -> str:
        return t.String(t.Pos + self.field(t, slot)).decode()


def test_the_file_is_a_tflite_flatbuffer_with_a_dynamic_batch_and_a_signature(tmp_path):
    model = _mlp()
    path = str(tmp_path / "m.tflite")
    model.export(path, format="litert")
    data = open(path, "rb").read()
    assert data[4:8] == b"TFL3"
    r = _Reader(data)
    root = r.root()
    assert r.uint(root, 0) == 3  # schema version
    (subgraph,) = r.vector(root, 2)
    tensors = r.vector(subgraph, 0)
    (x,) = r.ints(subgraph, 1)
    (y,) = r.ints(subgraph, 2)
    assert r.string(tensors[x], 3) == "dense_input" and r.string(tensors[y], 3) == "dense_1"
    assert r.ints(tensors[x], 0) == [1, 30] and r.ints(tensors[x], 7) == [-1, 30]
    assert r.ints(tensors[y], 0) == [1, 3] and r.ints(tensors[y], 7) == [-1, 3]
    (signature,) = r.vector(root, 7)
    assert r.string(signature, 2) == "serving_default"
    (sig_in,), (sig_out,) = r.vector(signature, 0), r.vector(signature, 1)
    assert (r.string(sig_in, 0), r.uint(sig_in, 1)) == ("dense_input", x)
    assert (r.string(sig_out, 0), r.uint(sig_out, 1)) == ("dense_1", y)
    codes = [r.uint(c, 3) for c in r.vector(root, 1)]
    assert codes == [BUILTINS["FULLY_CONNECTED"][0]]
    buffers = r.vector(root, 4)
    assert r.field(buffers[0], 0) == 0  # the empty sentinel buffer
    # the weights' bytes sit 16-byte aligned, as the schema asks
    weights = [b for b in buffers if r.field(b, 0)]
    assert len(weights) == 4
    assert all(b.Vector(r.field(b, 0)) % 16 == 0 for b in weights)


def test_dense_layers_become_fully_connected_ops_with_weights_out_by_in():
    model = _mlp()
    m = _model_def(model)
    assert [op.op for op in m.ops] == ["FULLY_CONNECTED", "FULLY_CONNECTED"]
    first, second = m.ops
    assert first.options["fused_activation_function"] == 1 and \
        second.options["fused_activation_function"] == 0  # relu fused, Dropout gone
    kernel, bias = model.layers[0].get_weights()
    weights = m.tensors[first.inputs[1]]
    assert weights.shape == (40, 30)
    stored = np.frombuffer(m.buffers[weights.buffer], np.float32).reshape(40, 30)
    np.testing.assert_array_equal(stored, kernel.T)
    np.testing.assert_array_equal(
        np.frombuffer(m.buffers[m.tensors[first.inputs[2]].buffer], np.float32), bias)


def test_batch_norm_and_bias_fold_into_the_convolution_and_depthwise_filters_are_1hwc():
    set_random_seed(2)
    x = keras.Input((8, 8, 3), name="image")
    conv = L.Conv2D(4, 3, padding="same")
    bn = L.BatchNormalization()
    dw = L.DepthwiseConv2D(3, depth_multiplier=2)
    h = dw(L.ReLU(6.0)(bn(conv(x))))
    model = keras.Model(x, L.GlobalAveragePooling2D(name="pooled")(h))
    bn.set_weights([np.full(4, 2.0, np.float32), np.ones(4, np.float32),
                    np.zeros(4, np.float32), np.full(4, 3.0, np.float32)])
    m = _model_def(model)
    assert [op.op for op in m.ops] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"]
    conv_op, dw_op, _ = m.ops
    assert conv_op.options["fused_activation_function"] == 3  # RELU6
    kernel, bias = conv.get_weights()
    scale = 2.0 / np.sqrt(3.0 + 1e-3)
    stored = np.frombuffer(m.buffers[m.tensors[conv_op.inputs[1]].buffer], np.float32)
    np.testing.assert_allclose(stored.reshape(4, 3, 3, 3), kernel.transpose(3, 0, 1, 2) * scale,
                               rtol=1e-6)
    stored_bias = np.frombuffer(m.buffers[m.tensors[conv_op.inputs[2]].buffer], np.float32)
    np.testing.assert_allclose(stored_bias, bias * scale + 1.0, rtol=1e-6)
    assert m.tensors[dw_op.inputs[1]].shape == (1, 3, 3, 8)
    assert dw_op.options["depth_multiplier"] == 2
    assert m.tensors[dw_op.outputs[0]].signature == (-1, 6, 6, 8)


def test_gelu_is_one_op_and_the_names_are_the_signature_keys():
    a, b = keras.Input((6,), name="b_second"), keras.Input((3,), name="a_first")
    h = L.Concatenate()([L.Dense(5, activation="gelu")(a), b])
    model = keras.Model([a, b], [L.Dense(2, name="z_out")(h), L.Dense(1, name="y_out")(h)])
    m = _model_def(model)
    assert m.opcodes == ["FULLY_CONNECTED", "GELU", "CONCATENATION"]
    assert list(m.signature[0]) == ["a_first", "b_second"]
    assert list(m.signature[1]) == ["y_out", "z_out"]
    assert m.ops[1].options == {"approximate": False}


def test_reshape_keeps_the_batch_dynamic():
    x = keras.Input((4, 6), name="x")
    model = keras.Model(x, L.Dense(2, name="out")(L.Flatten()(L.Reshape((6, 4))(x))))
    m = _model_def(model)
    reshapes = [op for op in m.ops if op.op == "RESHAPE"]
    assert len(reshapes) == 2
    for op in reshapes:
        target = m.tensors[op.inputs[1]]
        assert np.frombuffer(m.buffers[target.buffer], np.int32)[0] == -1


# ----------------------------------------------------------------------------- int8 weights
def test_quantize_per_channel_is_symmetric_and_within_half_a_step():
    w = np.random.default_rng(0).normal(size=(5, 7)).astype(np.float32)
    q, scales = quantize_per_channel(w, 0)
    assert q.dtype == np.int8 and scales.shape == (5,)
    assert np.abs(q).max() == 127
    assert np.all(np.abs(q * scales[:, None] - w) <= scales[:, None] / 2 + 1e-7)


def test_dynamic_int8_stores_large_weights_int8_per_output_channel():
    model = _mlp()
    m = _model_def(model, quantize="dynamic_int8")
    first, second = m.ops
    weights = m.tensors[first.inputs[1]]
    assert 40 * 30 >= MIN_QUANTIZED_ELEMENTS
    assert weights.dtype == "int8" and weights.quantization.scales.shape == (40,)
    assert weights.quantization.dimension == 0
    assert len(m.buffers[weights.buffer]) == 40 * 30
    kernel = model.layers[0].get_weights()[0]
    q = np.frombuffer(m.buffers[weights.buffer], np.int8).reshape(40, 30)
    np.testing.assert_allclose(q * weights.quantization.scales[:, None], kernel.T,
                               atol=float(weights.quantization.scales.max()) / 2 + 1e-7)
    # 40 x 3 weights are too few to be worth it: float32, as TFLite's converter leaves them
    assert m.tensors[second.inputs[1]].dtype == "float32"
    assert len(to_tflite(model, quantize="dynamic_int8")) < len(to_tflite(model)) - 3000


# ----------------------------------------------------------------------------- refusals
def test_unknown_quantize_modes_and_options_are_refused(tmp_path):
    path = str(tmp_path / "m.tflite")
    with pytest.raises(ConfigError) as e:
        _mlp().export(path, format="litert", quantize="int4")
    assert "expected quantize None or one of ('dynamic_int8',)" in str(e.value)
    assert "Received quantize='int4'" in str(e.value) and "Fix:" in str(e.value)
    with pytest.raises(ConfigError) as e:
        _mlp().export(path, format="litert", optimize=True)
    assert "expected options among ['quantize']" in str(e.value)
    assert "Received ['optimize']" in str(e.value)
    with pytest.raises(ConfigError) as e:
        _mlp().export(path, format="tflite", input_signature=[(None, 31)])
    assert "model.export(format='litert'): expected input_signature to give input " \
        "'dense_input' to have a shape compatible with the model's (None, 30)" in str(e.value)
    assert "Received (None, 31)" in str(e.value)
    assert not os.path.exists(path)


def test_weights_past_what_a_flatbuffer_addresses_are_refused(monkeypatch):
    import savepoint.exports.litert as litert
    monkeypatch.setattr(litert, "MAX_WEIGHT_BYTES", 1000)
    with pytest.raises(ConfigError) as e:
        to_tflite(_mlp())
    assert "expected at most 1,000 bytes of weights (a flatbuffer addresses 2 GiB)" in \
        str(e.value)
    assert "Received 5,452 bytes in model" in str(e.value)  # (30 * 40 + 40 + 40 * 3 + 3) * 4
    assert "Fix: pass quantize='dynamic_int8'" in str(e.value)


class Doubler(L.Layer):
    def call(self, x):
        return x * 2


def test_a_layer_without_a_lowering_is_named():
    x = keras.Input((5,), name="x")
    model = keras.Model(x, L.Dense(2, name="out")(Doubler(name="doubler")(x)))
    with pytest.raises(LoweringError) as e:
        to_tflite(model)
    assert "Layer 'doubler' (Doubler) has no TensorFlow lowering" in str(e.value)
    assert "Fix:" in str(e.value)


def test_an_op_without_a_tflite_translation_names_the_op_and_its_layer(monkeypatch):
    x = keras.Input((5,), name="x")
    model = keras.Model(x, L.Dense(2, name="out")(L.Dense(3, activation="softplus",
                                                          name="smooth")(x)))
    monkeypatch.delitem(TRANSLATORS, "Softplus")
    with pytest.raises(LoweringError) as e:
        to_tflite(model)
    message = str(e.value)
    assert message.startswith("Op Softplus (node 'Softplus', from layer 'smooth' (Dense)) has "
                              "no TFLite translation: expected one of")
    assert "Fix: replace that layer, or export format='tf_saved_model' or 'onnx'." in message


def test_a_dynamic_non_batch_dimension_is_refused_unless_input_signature_fixes_it():
    x = keras.Input((None, 3), name="steps")
    model = keras.Model(x, L.Dense(2, name="out")(L.GlobalAveragePooling1D()(L.Conv1D(4, 2)(x))))
    with pytest.raises(LoweringError) as e:
        to_tflite(model)
    assert "Model input 'steps': expected static dimensions after the batch for TFLite" \
        in str(e.value)
    assert "Received shape (None, None, 3)" in str(e.value)
    assert "fix it with input_signature (e.g. [(None, 20, 3)]" in str(e.value)
    lowered = lower_model(model)
    fixed = convert(lowered, None, model, {"steps": (None, 6, 3)})
    assert fixed.tensors[fixed.inputs[0]].signature == (-1, 6, 3)
    assert fixed.tensors[fixed.outputs[0]].signature == (-1, 2)
    batch = convert(lowered, None, model, {"steps": (4, 6, 3)})
    assert batch.tensors[batch.inputs[0]].signature == (4, 6, 3)
    assert batch.tensors[batch.outputs[0]].shape == (4, 2)
    assert to_tflite(model, input_signature=[(None, 6, 3)])[4:8] == b"TFL3"


def test_a_subclassed_model_is_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.zeros((1, 3), np.float32))
    with pytest.raises(LoweringError) as e:
        to_tflite(net)
    assert "expected a Sequential or functional model" in str(e.value)


def test_every_op_of_the_lowering_table_has_a_tflite_translation():
    """The lowering's op table grows with its layers: each new forward-pass op needs its
    TFLite translation (exports/litert/nn.py or tensor_ops.py) before it ships."""
    from savepoint.exports.lowering.ops import OPS
    handled_by_the_walker = {"Const", "ReadVariableOp", "Identity"}
    outer_graph = {"Placeholder", "VarHandleOp", "StatefulPartitionedCall", "RestoreV2",
                   "SaveV2", "AssignVariableOp", "NoOp"}
    _model_def(_mlp())  # the translators register on the first conversion
    missing = sorted(set(OPS) - set(TRANSLATORS) - handled_by_the_walker - outer_graph)
    assert missing == []
