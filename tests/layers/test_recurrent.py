"""Recurrent layers beyond the goldens: argument errors, dropout, the fused kernel against the
step loop, custom cells, masks through models, stateful layers, symbolic use and training."""

import doctest
import importlib

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError, UnknownObjectError
from savepoint.layers import (GRU, LSTM, RNN, Bidirectional, Dense, Embedding, GRUCell,
                              LSTMCell, Masking, SimpleRNN, SimpleRNNCell, StackedRNNCells,
                              TimeDistributed)
from savepoint.layers import activations
from savepoint.layers.recurrent import fused

L = keras.layers
MODULES = ["cells", "stacked_cells", "fused", "rnn", "cell_layer", "lstm", "gru", "simple_rnn",
           "bidirectional", "time_distributed", "masking"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"savepoint.layers.recurrent.{name}")
    result = doctest.testmod(module, extraglobs={"np": np, "torch": torch})
    assert result.failed == 0 and result.attempted > 0


# ----- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,match", [
    (lambda: LSTM(0), ConfigError, r"LSTMCell expected `units` to be a positive int\. "
                                   r"Received: units=0"),
    (lambda: GRU(2.5), ConfigError, r"expected `units` to be a positive int"),
    (lambda: LSTM(2, dropout=1.5), ConfigError, r"expected `dropout` to be a float in \[0, 1\)"
                                                r"\. Received: dropout=1\.5"),
    (lambda: SimpleRNN(2, recurrent_dropout=-0.1), ConfigError, r"`recurrent_dropout`"),
    (lambda: LSTM(2, kernel_constraint="bogus"), UnknownObjectError,
     r"Could not locate constraint 'bogus'"),
    (lambda: LSTM(2, implementation=3), ConfigError, r"expected `implementation` 1 or 2"),
    (lambda: LSTM(2, foo=1), ConfigError, r"not understood by LSTM: \['foo'\]"),
    (lambda: RNN(object()), ConfigError, r"RNN expected a cell with `call\(inputs, states\)`"),
    (lambda: StackedRNNCells([]), ConfigError, r"expected at least one cell"),
    (lambda: StackedRNNCells([3]), ConfigError, r"StackedRNNCells expected cells with `call`"),
    (lambda: Bidirectional(Dense(2)), ConfigError, r"Bidirectional expected a recurrent layer"),
    (lambda: Bidirectional(LSTM(2), merge_mode="max"), ConfigError,
     r"expected merge_mode in .*Received: merge_mode='max'"),
    (lambda: Bidirectional(LSTM(2), backward_layer=LSTM(2)), ConfigError,
     r"backward layer's go_backwards to differ"),
    (lambda: Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True,
                                                         return_sequences=True)),
     ConfigError, r"share `return_sequences`"),
    (lambda: TimeDistributed("dense"), ConfigError, r"TimeDistributed expected a savepoint "
                                                    r"Layer"),
    (lambda: Masking(mask_value="pad"), ConfigError, r"Masking expected `mask_value` to be a "
                                                     r"number"),
])
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_call_errors():
    with pytest.raises(ShapeError, match=r"expected inputs of rank 3 \(batch, time, features\)"):
        LSTM(2)(np.ones((2, 3), "float32"))
    layer = LSTM(2)
    with pytest.raises(ConfigError, match=r"expected 2 initial state tensor\(s\)\. Received 1"):
        layer(np.ones((1, 3, 2), "float32"), initial_state=[np.zeros((1, 2), "float32")])
    with pytest.raises(ConfigError, match=r"expected a cell whose call\(inputs, states, "
                                          r"constants\) takes constants"):
        layer(np.ones((1, 3, 2), "float32"), constants=[np.zeros((1, 2), "float32")])
    with pytest.raises(ConfigError, match=r"expected stateful=True to reset its states"):
        layer.reset_states()
    with pytest.raises(ShapeError, match=r"expected the last input dimension to be known"):
        LSTMCell(2).build((None, None))


def test_stateful_batch_size_must_stay_fixed():
    layer = GRU(2, stateful=True)
    layer(np.ones((2, 3, 2), "float32"))
    with pytest.raises(ShapeError, match=r"expected batches of 2 samples\. Received 3"):
        layer(np.ones((3, 3, 2), "float32"))
    layer.reset_states()
    assert layer(np.ones((3, 3, 2), "float32")).shape == (3, 2)


def test_time_major_cannot_go_to_keras3():
    from savepoint.saving.mapping.dialects.keras3 import to_keras3
    from savepoint.saving.engine.model_config import model_to_config
    model = keras.Sequential([keras.Input((3, 2)), LSTM(2, time_major=True)])
    with pytest.raises(ConfigError, match=r"time_major=True, which Keras 3 does not support"):
        to_keras3(model_to_config(model), None)


# ----- the fused kernels against the step loop ------------------------------------------------
def _loop(layer, x, **kwargs):
    """The same layer forced through the Python step loop."""
    original = fused.can_fuse
    fused.can_fuse = lambda cell: False
    try:
        return layer(x, **kwargs)
    finally:
        fused.can_fuse = original


@pytest.mark.parametrize("make", [lambda: LSTM(5, return_sequences=True),
                                  lambda: GRU(5, return_sequences=True),
                                  lambda: SimpleRNN(5, activation="relu", return_sequences=True),
                                  lambda: LSTM(5, use_bias=False, return_sequences=True)])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("backwards", [False, True])
def test_fused_kernel_equals_step_loop(make, masked, backwards):
    rng = np.random.default_rng(0)
    layer = make()
    layer.go_backwards = backwards
    x = torch.tensor(rng.standard_normal((4, 7, 3)).astype("float32"), requires_grad=True)
    kwargs = {}
    if masked:
        kwargs["mask"] = torch.arange(7)[None] < torch.tensor([7, 5, 2, 1])[:, None]
    out = layer(x, **kwargs)
    ref = _loop(layer, x, **kwargs)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    g1 = torch.autograd.grad(out.sum(), [x] + [w.value for w in layer.weights])
    g2 = torch.autograd.grad(ref.sum(), [x] + [w.value for w in layer.weights])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


class MinimalCell(keras.layers.Layer):
    """keras.io's custom cell: ``call(inputs, states)`` without ``training``."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units))

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return output, [output]


def test_custom_cell_runs_in_the_step_loop():
    layer = RNN(MinimalCell(3), return_sequences=True, return_state=True)
    x = np.random.default_rng(1).standard_normal((2, 4, 2)).astype("float32")
    seq, state = layer(x)
    k, rk = layer.cell.kernel, layer.cell.recurrent_kernel
    h = torch.zeros(2, 3)
    for t in range(4):
        h = torch.from_numpy(x[:, t]) @ k + h @ rk
        torch.testing.assert_close(seq[:, t], h)
    torch.testing.assert_close(state, h)
    stacked = RNN([MinimalCell(3), LSTMCell(2)])
    assert stacked(x).shape == (2, 2)


def test_cell_step_equals_one_step_of_the_layer():
    rng = np.random.default_rng(2)
    for layer in (LSTM(3), GRU(3), GRU(3, reset_after=False), SimpleRNN(3)):
        x = rng.standard_normal((2, 1, 4)).astype("float32")
        out = layer(x)
        cell_out, _ = layer.cell(torch.from_numpy(x[:, 0]), layer.cell.get_initial_state(2))
        torch.testing.assert_close(out, cell_out)


# ----- dropout, unroll, time_major, attributes ------------------------------------------------
def test_dropout_only_in_training():
    torch.manual_seed(0)
    x = np.random.default_rng(3).standard_normal((8, 6, 4)).astype("float32")
    for layer in (LSTM(3, dropout=0.5), GRU(3, dropout=0.4, recurrent_dropout=0.4),
                  SimpleRNN(3, recurrent_dropout=0.5)):
        plain = type(layer)(3)
        plain(x)
        layer(x)
        plain.set_weights(layer.get_weights())
        torch.testing.assert_close(layer(x, training=False), plain(x))
        assert not torch.allclose(layer(x, training=True), plain(x))
        # one mask per sequence, fresh for every call (Keras resets it each call)
        assert not torch.allclose(layer(x, training=True), layer(x, training=True))


def test_unroll_and_time_major():
    x = np.random.default_rng(4).standard_normal((2, 5, 3)).astype("float32")
    layer = LSTM(4, return_sequences=True)
    out = layer(x)
    unrolled = LSTM(4, unroll=True, return_sequences=True)
    unrolled(x)
    unrolled.set_weights(layer.get_weights())
    torch.testing.assert_close(unrolled(x), out)
    major = LSTM(4, time_major=True, return_sequences=True)
    major(x.transpose(1, 0, 2))
    major.set_weights(layer.get_weights())
    torch.testing.assert_close(major(x.transpose(1, 0, 2)), out.transpose(0, 1))
    assert major.compute_output_shape((5, None, 3)) == (5, None, 4)


def test_layer_exposes_cell_arguments():
    layer = GRU(4, reset_after=False, dropout=0.25, recurrent_activation="hard_sigmoid")
    assert (layer.units, layer.reset_after, layer.dropout) == (4, False, 0.25)
    assert activations.serialize(layer.recurrent_activation) == "hard_sigmoid"
    assert LSTM(2).cell.name == "lstm_cell" and SimpleRNN(2).cell.name == "simple_rnn_cell"


def test_unit_forget_bias_starts_forget_gate_at_one():
    layer = LSTM(3)
    layer(np.zeros((1, 2, 2), "float32"))
    np.testing.assert_array_equal(layer.cell.bias.detach().numpy(),
                                  [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


# ----- masks ----------------------------------------------------------------------------------
def test_masks_travel_through_sequential_and_functional_models():
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 8]])
    emb = Embedding(10, 3, mask_zero=True)
    lstm = LSTM(2, return_sequences=True)
    model = keras.Sequential([keras.Input((4,), dtype="int32"), emb, lstm])
    out = model(ids)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    # padded steps repeat the last valid output, as tf.keras does
    torch.testing.assert_close(out[0, 2], out[0, 1])
    torch.testing.assert_close(out[0, 3], out[0, 1])
    inp = keras.Input((4,), dtype="int32")
    functional = keras.Model(inp, lstm(emb(inp)))
    torch.testing.assert_close(functional(ids), out)
    # the same call without the mask differs
    assert not torch.allclose(lstm(emb(ids).detach().clone()), out)


def test_masking_layer():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], "float32")
    out = Masking()(x)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    assert Masking(mask_value=-1.0).get_config()["mask_value"] == -1.0
    model = keras.Sequential([keras.Input((3, 2)), Masking(), SimpleRNN(2)])
    plain = keras.Sequential([keras.Input((None, 2)), SimpleRNN(2)])
    plain.set_weights(model.get_weights())
    masked_steps = np.array([[[1.0, 2.0], [3.0, 0.0]]], "float32")
    torch.testing.assert_close(model(x), plain(masked_steps))


def test_bidirectional_return_state_and_merge_none_masks():
    layer = Bidirectional(LSTM(2, return_sequences=True, return_state=True), merge_mode=None)
    x = torch.ones(1, 3, 2)
    mask = torch.tensor([[True, True, False]])
    outs = layer(x, mask=mask)
    assert [tuple(o.shape) for o in outs] == [(1, 3, 2)] * 2 + [(1, 2)] * 4
    assert outs[0]._keras_mask is mask and getattr(outs[2], "_keras_mask", None) is None


def test_time_distributed_matches_per_step_calls():
    x = np.random.default_rng(5).standard_normal((2, 3, 4)).astype("float32")
    td = TimeDistributed(Dense(2))
    out = td(x)
    for t in range(3):
        torch.testing.assert_close(out[:, t], td.layer(x[:, t]))
    assert td.compute_output_shape((None, 3, 4)) == (None, 3, 2)
    assert [w.path for w in td.weights] == ["time_distributed/kernel", "time_distributed/bias"]


# ----- symbolic use and training --------------------------------------------------------------
def test_symbolic_states_and_initial_state():
    inp = keras.Input((5, 3))
    seq, h, c = LSTM(4, return_sequences=True, return_state=True)(inp)
    assert (seq.shape, h.shape, c.shape) == ((None, 5, 4), (None, 4), (None, 4))
    out = GRU(4)(seq, initial_state=[h])
    stacked = RNN(StackedRNNCells([SimpleRNNCell(3), GRUCell(2)]), return_state=True)(seq)
    assert [t.shape for t in stacked] == [(None, 2), (None, 3), (None, 2)]
    model = keras.Model(inp, [out, stacked[0]])
    y = model(np.ones((2, 5, 3), "float32"))
    assert [tuple(t.shape) for t in y] == [(2, 4), (2, 2)]


def test_embedding_lstm_classifier_learns():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 8))
    x[::2, 5:] = 0
    y = (x[:, 0] > 10).astype("float32")
    model = keras.Sequential([keras.Input((8,), dtype="int64"),
                              Embedding(20, 8, mask_zero=True),
                              Bidirectional(LSTM(8)), Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_mask_passes_through_dropout_dense_and_normalization():
    """Layers that support masking in Keras hand the mask on, in training too."""
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 8]])
    emb = Embedding(10, 3, mask_zero=True)
    x = emb(ids)
    for layer in (L.Dropout(0.5), Dense(3), L.Activation("tanh"), L.LayerNormalization(),
                  L.BatchNormalization()):
        out = layer(x, training=True)
        np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    assert getattr(L.Flatten()(x), "_keras_mask", None) is None


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_state", [False, True])
def test_bidirectional_output_shapes_match_a_real_call(merge_mode, return_state):
    layer = Bidirectional(GRU(3, return_sequences=True, return_state=return_state),
                          merge_mode=merge_mode)
    shapes = layer.compute_output_shape((None, 4, 2))
    real = layer(torch.ones(2, 4, 2))
    flat = lambda s: [s] if isinstance(s, tuple) else list(s)
    real = [real] if isinstance(real, torch.Tensor) else real
    assert [tuple(t.shape[1:]) for t in real] == [tuple(s[1:]) for s in flat(shapes)]


def test_keras2_input_dim_and_length_and_explicit_states():
    layer = LSTM(3, input_length=4, input_dim=2)
    assert layer.built and layer._batch_input_shape == (None, 4, 2)
    model = keras.Sequential([SimpleRNN(2, input_dim=3)])
    assert model.output_shape == (None, 2)
    stateful = GRU(2, stateful=True)
    stateful(np.ones((1, 3, 2), "float32"))
    stateful.reset_states([np.full((1, 2), 0.5, "float32")])
    np.testing.assert_array_equal(stateful.states[0].numpy(), [[0.5, 0.5]])
    fresh = GRU(2)
    fresh(np.ones((1, 3, 2), "float32"))
    fresh.set_weights(stateful.get_weights())
    torch.testing.assert_close(
        stateful(np.ones((1, 3, 2), "float32")),
        fresh(np.ones((1, 3, 2), "float32"), initial_state=[torch.full((1, 2), 0.5)]))


def test_cell_initial_state_takes_keras2_arguments():
    cell = GRUCell(3)
    x = torch.ones(4, 2, dtype=torch.float64)
    assert [tuple(t.shape) for t in cell.get_initial_state(x)] == [(4, 3)]
    assert cell.get_initial_state(x)[0].dtype == torch.float64
    assert cell.get_initial_state(batch_size=2, dtype="float64")[0].dtype == torch.float64
    stack = StackedRNNCells([LSTMCell(2), GRUCell(1)])
    assert [[tuple(t.shape) for t in s] for s in stack.get_initial_state(batch_size=5)] == \
        [[(5, 2), (5, 2)], [(5, 1)]]
    with pytest.raises(ConfigError, match=r"expected `inputs` or `batch_size`"):
        cell.get_initial_state()


def test_stacked_cells_keep_each_rows_state_at_masked_steps():
    """A masked first step keeps every row's own initial state (not row 0's)."""
    layer = RNN([SimpleRNNCell(2), LSTMCell(2)], return_state=True)
    x = torch.ones(3, 3, 2)
    mask = torch.tensor([[False, True, True], [False, True, True], [False, False, False]])
    states = [torch.full((3, 2), float(i + 1)) * torch.arange(1, 4)[:, None] for i in range(3)]
    out = layer(x, mask=mask, initial_state=states)
    for got, given in zip(out[1:], states):  # the fully masked row keeps its states
        torch.testing.assert_close(got[2], given[2])
    plain = layer(x[:, 1:], initial_state=states)
    for a, b in zip(out, plain):  # a masked first step is the same as no first step
        torch.testing.assert_close(a[:2], b[:2])


def test_stateful_bidirectional_resets_and_sets_both_directions():
    layer = Bidirectional(GRU(2, stateful=True))
    layer(np.ones((1, 3, 2), "float32"))
    assert layer.forward_layer.states is not None
    layer.reset_states()
    assert layer.forward_layer.states is None and layer.backward_layer.states is None
    layer.reset_states([np.ones((1, 2), "float32"), np.zeros((1, 2), "float32")])
    np.testing.assert_array_equal(layer.forward_layer.states[0].numpy(), [[1, 1]])
    with pytest.raises(ConfigError, match=r"expected as many forward as backward states"):
        layer.reset_states([np.ones((1, 2), "float32")])
    with pytest.raises(ConfigError, match=r"expected stateful=True"):
        Bidirectional(GRU(2)).reset_states()
