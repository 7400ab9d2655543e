"""The recurrent lowerings without TensorFlow: the unrolled ops, their numbers (a small numpy
interpreter of the FunctionDef against ``model.predict``) and every refusal's message.

The live checks with TensorFlow's loaders are
tests/interop/test_saved_model_rnn_lowering_interop.py."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import savepoint as keras
from savepoint.exports.lowering import LoweringError, lower_model
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_FLOAT, DT_INT32

L = keras.layers
RNG = np.random.default_rng(7)
_NP = {DT_FLOAT: np.float32, DT_INT32: np.int32, DT_BOOL: np.bool_}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_UNARY = {"Sigmoid": _sigmoid, "Tanh": np.tanh, "Relu": lambda x: np.maximum(x, 0),
          "Elu": lambda x: np.where(x > 0, x, np.expm1(x)), "Identity": lambda x: x,
          "Exp": np.exp}
_BINARY = {"AddV2": np.add, "Mul": np.multiply, "Sub": np.subtract, "Maximum": np.maximum,
           "Minimum": np.minimum, "NotEqual": np.not_equal}


def _eval(node, args):
    """One op in numpy (float64, so the comparison measures the lowering, not rounding)."""
    a = {k: v.value for k, v in node.attrs.items()}
    op = node.op
    if op == "Const":
        t = a["value"]
        return [np.frombuffer(t.content, _NP[t.dtype]).reshape(t.shape)]
    if op in _UNARY:
        return [_UNARY[op](args[0])]
    if op in _BINARY:
        return [_BINARY[op](args[0], args[1])]
    if op in ("MatMul", "BatchMatMulV2"):
        return [np.matmul(args[0], args[1])]
    if op == "BiasAdd":
        return [args[0] + args[1]]
    if op == "Split":
        return np.split(args[1], a["num_split"], axis=int(args[0]))
    if op == "Unpack":
        return list(np.moveaxis(args[0], a.get("axis", 0), 0))
    if op == "Pack":
        return [np.stack(args, axis=a.get("axis", 0))]
    if op == "ConcatV2":
        return [np.concatenate(args[:-1], axis=int(args[-1]))]
    if op == "Reshape":
        assert args[0].dtype.kind == ("i" if a["T"] == DT_INT32 else "f"), node
        return [args[0].reshape(args[1])]
    if op == "ExpandDims":
        return [np.expand_dims(args[0], int(args[1]))]
    if op == "Squeeze":
        return [np.squeeze(args[0], tuple(a["squeeze_dims"]))]
    if op == "Cast":
        return [args[0].astype(np.float64)]
    if op == "GatherV2":
        return [np.take(args[0], args[1], axis=int(args[2]))]
    if op == "Max":
        return [np.max(args[0], axis=tuple(np.atleast_1d(args[1])), keepdims=a["keep_dims"])]
    raise AssertionError(f"the test interpreter lacks op {op}")


def run_lowered(model: keras.Model, inputs: dict) -> dict:
    """Evaluate the serving FunctionDef of ``model`` in numpy."""
    low = lower_model(model)
    fn = low.function
    values: dict[str, list] = {}
    for (arg, _), spec in zip(fn.inputs, low.inputs):
        value = np.asarray(inputs[spec.key])
        values[arg] = [value if value.dtype.kind == "i" else value.astype(np.float64)]
    for (arg, _), var in zip(fn.inputs[len(low.inputs):], low.variables):
        values[arg] = [var.numpy().astype(np.float64)]

    def edge(name):
        parts = name.split(":")
        return values[parts[0]][int(parts[-1]) if len(parts) == 3 else 0]

    for node in fn.nodes:
        args = [edge(i) for i in node.inputs]
        values[node.name] = args if node.op == "ReadVariableOp" else _eval(node, args)
    return {key: edge(ref) for key, ref in fn.ret.items()}


def _check(model: keras.Model, steps_input: np.ndarray | None = None) -> Counter:
    x = steps_input if steps_input is not None else \
        RNG.normal(size=(3,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    want = model.predict(x, verbose=0)
    want = want if isinstance(want, list) else [want]
    got = run_lowered(model, {model.input_names[0]: x})
    for name, w in zip(model.output_names, want):
        np.testing.assert_allclose(got[name], w, atol=2e-6, rtol=0)
    return Counter(n.op for n in lower_model(model).function.nodes)


def _seq(layer, steps=5, features=3, name="out"):
    x = keras.Input((steps, features), name="x")
    return keras.Model(x, L.Activation("linear", name=name)(layer(x)))


@pytest.mark.parametrize("layer", [
    lambda: L.SimpleRNN(4, return_sequences=True),
    lambda: L.SimpleRNN(3, activation="relu", use_bias=False, go_backwards=True),
    lambda: L.LSTM(4),
    lambda: L.LSTM(3, return_sequences=True, go_backwards=True, use_bias=False,
                   recurrent_activation="hard_sigmoid"),
    lambda: L.GRU(4, return_sequences=True),
    lambda: L.GRU(3, reset_after=False),
    lambda: L.GRU(3, use_bias=False, go_backwards=True),
    lambda: L.GRU(2, reset_after=False, use_bias=False, return_sequences=True),
    lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]), return_sequences=True),
    lambda: L.RNN([L.SimpleRNNCell(2), L.GRUCell(3, reset_after=False)], go_backwards=True),
])
def test_unrolled_cells_compute_what_predict_does(layer):
    _check(_seq(layer()))


def test_lstm_is_one_input_matmul_and_a_recurrent_matmul_per_later_step():
    ops = _check(_seq(L.LSTM(4), steps=6))
    # the zero initial state drops the first step's recurrent matmul
    assert ops["BatchMatMulV2"] == 1 and ops["MatMul"] == 5
    assert ops["Unpack"] == 1 and ops["Split"] == 6 and ops["ReadVariableOp"] == 3
    assert ops["Pack"] == 0


def test_gru_reset_after_reads_its_two_biases_from_one_variable():
    ops = _check(_seq(L.GRU(3, return_sequences=True), steps=4))
    assert ops["ReadVariableOp"] == 3 and ops["Unpack"] == 2 and ops["Pack"] == 1


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_merges(mode):
    _check(_seq(L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=mode)))
    _check(_seq(L.Bidirectional(L.GRU(2), merge_mode=mode)))


def test_bidirectional_without_merge_and_states_and_initial_state():
    x = keras.Input((4, 3), name="x")
    f, r = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode=None)(x)
    both, fh, fc, bh, bc = L.Bidirectional(L.LSTM(2, return_state=True))(x)
    seq, h = L.GRU(2, return_sequences=True, return_state=True)(x)
    again = L.GRU(2, go_backwards=True)(x, initial_state=[h])
    outs = [L.Activation("linear", name=n)(t) for n, t in
            (("f", f), ("r", r), ("both", both), ("fh", fh), ("bc", bc), ("seq", seq),
             ("h", h), ("again", again))]
    _check(keras.Model(x, outs))


def test_time_distributed_folds_time_into_the_batch():
    x = keras.Input((3, 4, 5), name="x")
    h = L.TimeDistributed(L.Flatten())(x)
    y = L.TimeDistributed(L.Dense(3, activation="tanh"), name="out")(h)
    ops = _check(keras.Model(x, y))
    # (batch * 3, 4, 5) -> Flatten -> back; (batch * 3, 20) -> MatMul -> back
    assert ops["Reshape"] == 5 and ops["MatMul"] == 1 and ops["BatchMatMulV2"] == 0


def _padded(steps=6, features=2):
    """Inputs with whole steps equal to the mask value 0: at the end, in the middle, first."""
    x = RNG.normal(size=(4, steps, features)).astype("float32")
    x[0, 4:] = 0
    x[1, 2] = 0
    x[2, 0] = 0
    x[3, ::2] = 0
    return x


@pytest.mark.parametrize("layer", [
    lambda: L.LSTM(3, return_sequences=True),
    lambda: L.GRU(3, go_backwards=True),
    lambda: L.GRU(2, reset_after=False, return_sequences=True, go_backwards=True),
    lambda: L.SimpleRNN(2, return_sequences=True),
    lambda: L.Bidirectional(L.LSTM(2, return_sequences=True)),
    lambda: L.Bidirectional(L.GRU(2), merge_mode="ave"),
    lambda: L.RNN([L.LSTMCell(2), L.GRUCell(2)], return_sequences=True),
])
def test_a_masking_layer_keeps_the_states_of_padded_steps(layer):
    x = keras.Input((6, 2), name="x")
    model = keras.Model(x, L.Activation("linear", name="out")(layer()(L.Masking()(x))))
    _check(model, _padded())


def test_the_mask_flows_through_returned_sequences_and_time_distributed():
    x = keras.Input((6, 2), name="x")
    h = L.LSTM(3, return_sequences=True)(L.Masking()(x))
    h = L.TimeDistributed(L.Dense(3))(h)
    _check(keras.Model(x, L.GRU(2, name="out")(h)), _padded())


def test_an_unmerged_bidirectional_masks_both_outputs():
    """tf.keras gives both sequences of Bidirectional(merge_mode=None) the input's mask: an RNN
    reading the backward one must skip the padded steps too."""
    x = keras.Input((6, 2), name="x")
    forward, backward = L.Bidirectional(L.SimpleRNN(2, return_sequences=True),
                                        merge_mode=None)(L.Masking()(x))
    _check(keras.Model(x, L.LSTM(3, name="out")(backward)), _padded())


def test_an_embedding_mask_zero_masks_the_padded_ids():
    tokens = keras.Input((6,), dtype="int32", name="x")
    h = L.Embedding(9, 3, mask_zero=True)(tokens)
    h = L.Bidirectional(L.LSTM(2, return_sequences=True))(h)
    model = keras.Model(tokens, L.GRU(2, name="out")(h))
    ids = RNG.integers(1, 9, (4, 6)).astype("int32")
    ids[0, 3:] = 0
    ids[1, :2] = 0
    ids[2, 1::2] = 0
    _check(model, ids)


def test_masks_change_the_result_the_interpreter_checks():
    """The masked lowering differs from the unmasked one on padded data: the check above
    could fail."""
    x = keras.Input((6, 2), name="x")
    lstm = L.LSTM(3, name="out")
    masked = keras.Model(x, lstm(L.Masking()(x)))
    plain = keras.Model(x, lstm(x))
    data = _padded()
    a = run_lowered(masked, {"x": data})["out"]
    b = run_lowered(plain, {"x": data})["out"]
    assert np.abs(a - b).max() > 1e-3


# ----------------------------------------------------------------------------- refusals
def _refused(model: keras.Model, *phrases: str) -> None:
    with pytest.raises(LoweringError) as info:
        lower_model(model)
    for phrase in phrases:
        assert phrase in str(info.value), str(info.value)


def test_variable_time_dimension_is_refused_with_the_fix():
    for layer in (L.LSTM(2, name="enc"), L.Bidirectional(L.GRU(2), name="enc"),
                  L.TimeDistributed(L.Dense(2), name="enc")):
        x = keras.Input((None, 3), name="x")
        _refused(keras.Model(x, layer(x)), "Layer 'enc' (", "expected a fixed number of "
                 "timesteps", "Received None (input shape (None, None, 3))",
                 "Fix: give Input a fixed sequence length")


def test_stateful_and_time_major_are_refused():
    x = keras.Input(batch_shape=(2, 4, 3), name="x")
    _refused(keras.Model(x, L.LSTM(2, stateful=True, name="s")(x)), "Layer 's' (LSTM)",
             "expected stateful=False")
    x = keras.Input((4, 3), name="x")
    _refused(keras.Model(x, L.GRU(2, time_major=True, name="t")(x)), "Layer 't' (GRU)",
             "expected time_major=False")


class MinimalCell(L.Layer):
    state_size = 2

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], 2))

    def call(self, inputs, states):
        out = inputs @ self.w + states[0]
        return out, [out]


class ConstantCell(MinimalCell):
    def call(self, inputs, states, constants=None):
        return super().call(inputs, states)


def test_custom_cells_and_constants_are_refused():
    x = keras.Input((4, 3), name="x")
    _refused(keras.Model(x, L.RNN(MinimalCell(name="mine"), name="r")(x)), "Layer 'r' (RNN)",
             "expected a SimpleRNNCell, LSTMCell or GRUCell", "cell 'mine' (MinimalCell)")
    stack = L.RNN([L.LSTMCell(2), MinimalCell(name="mine")], name="r2")
    _refused(keras.Model(x, stack(x)), "cell 'mine' (MinimalCell)")
    c = keras.Input((2,), name="c")
    y = L.RNN(ConstantCell(), name="rc")(x, constants=[c])
    _refused(keras.Model([x, c], y), "Layer 'rc' (RNN)", "expected no constants=",
             "1 constant input(s)")


def test_unsupported_activation_and_wrapped_layer_are_refused():
    x = keras.Input((4, 3), name="x")
    _refused(keras.Model(x, L.LSTM(2, activation="mish", name="l")(x)), "Layer 'l' (LSTM)",
             "expected a built-in activation", "received 'mish'")
    inner = keras.Sequential([L.Dense(2, input_shape=(3,))], name="inner")
    _refused(keras.Model(x, L.TimeDistributed(inner, name="td")(x)),
             "Layer 'td' (TimeDistributed)", "a wrapped built-in layer with a TensorFlow "
             "lowering", "'inner' (Sequential)")


def test_a_mask_not_from_a_masking_layer_is_refused():
    x = keras.Input((4, 3), name="x")
    m = L.Masking()(x)
    merged = L.Concatenate()([m, L.Masking(1.0)(x)])  # tf.keras ANDs the two masks
    _refused(keras.Model(x, L.LSTM(2, name="l")(merged)), "Layer 'l' (LSTM)",
             "expected a Keras mask straight from a Masking", "concatenation")


def test_an_explicit_mask_tensor_is_refused_not_taken_for_a_state():
    x, m = keras.Input((4, 3), name="x"), keras.Input((4,), name="m")
    for layer in (L.LSTM(2, name="l"), L.Bidirectional(L.GRU(2), name="l")):
        _refused(keras.Model([x, m], layer(x, mask=m)), "Layer 'l' (",
                 "expected its mask from a Masking layer (received an explicit mask= tensor)")


def test_time_distributed_around_a_recurrent_layer_and_its_mask_refusals():
    x = keras.Input((3, 4, 2), name="x")
    _check(keras.Model(x, L.TimeDistributed(L.LSTM(3), name="out")(x)))
    masked = L.TimeDistributed(L.GRU(2), name="td")(L.Masking()(x))
    _refused(keras.Model(x, masked), "Layer 'td' (TimeDistributed)", "expected a wrapped layer "
             "that neither takes nor makes a Keras mask", "'gru", "(GRU) on a masked input")
    tokens = keras.Input((3, 4), dtype="int32", name="tokens")
    embedded = L.TimeDistributed(L.Embedding(5, 2, mask_zero=True), name="te")(tokens)
    _refused(keras.Model(tokens, embedded), "Layer 'te' (TimeDistributed)", "(Embedding)")


def test_time_distributed_embedding_reshapes_the_ids():
    tokens = keras.Input((3, 4), dtype="int32", name="x")
    model = keras.Model(tokens, L.TimeDistributed(L.Embedding(5, 2), name="out")(tokens))
    _check(model, RNG.integers(0, 5, (2, 3, 4)).astype("int32"))
