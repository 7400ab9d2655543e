"""LIVE: TensorFlow serves the recurrent layers savepoint lowers into a SavedModel signature.

SimpleRNN, LSTM, GRU (both ``reset_after``), RNN over cells and StackedRNNCells, Bidirectional
(every merge mode), TimeDistributed, with Masking and Embedding(mask_zero) masks, unrolled over a
fixed number of steps: ``tf.saved_model.load(d).signatures["serving_default"]`` and ``saved_model_cli run`` reproduce
``model.predict`` within 1e-5 (dynamic batch), and ``tf.keras.models.load_model(d)`` gets every
weight bit for bit and the same predictions. A variable-length model gets no signature (a
warning), yet tf.keras still opens and runs it. One TensorFlow process checks all
(tf_check_saved_model.py)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

import savepoint as keras
import test_saved_model_write_interop as write_interop
from test_saved_model_write_interop import _case, _ops_table
from venv_runners import _interop_python, _run_in_tf, TF_PYTHON

L = keras.layers


def lstm_gru() -> keras.Model:
    """Stacked sequences: LSTM, GRU reset_after True then False; compiled (tf.keras trains on)."""
    x = keras.Input((6, 3), name="steps")
    h = L.LSTM(5, return_sequences=True)(x)
    h = L.GRU(4, return_sequences=True)(h)
    h = L.GRU(3, reset_after=False)(h)
    model = keras.Model(x, L.Dense(2, name="out")(h))
    model.compile(optimizer="adam", loss="mse")
    return model


def options() -> keras.Model:
    """Activations, hard_sigmoid, use_bias=False, go_backwards, SimpleRNN."""
    x = keras.Input((5, 4), name="series")
    a = L.SimpleRNN(4, activation="relu", return_sequences=True, go_backwards=True)(x)
    a = L.SimpleRNN(3, use_bias=False)(a)
    b = L.LSTM(3, activation="swish", recurrent_activation="hard_sigmoid", use_bias=False,
               go_backwards=True)(x)
    c = L.GRU(3, activation="elu", recurrent_activation="tanh", use_bias=False,
              return_sequences=True)(x)
    c = L.GRU(2, reset_after=False, use_bias=False, go_backwards=True)(c)
    return keras.Model(x, L.Dense(2, name="out")(L.Concatenate()([a, b, c])))


def bidirectional() -> keras.Model:
    """Bidirectional in every merge mode, sequences and last steps."""
    x = keras.Input((5, 3), name="steps")
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(x)
    h = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum")(h)
    a = L.Bidirectional(L.SimpleRNN(2), merge_mode="ave")(h)
    b = L.Bidirectional(L.GRU(2, reset_after=False), merge_mode="mul")(h)
    f, r = L.Bidirectional(L.LSTM(2), merge_mode=None)(x)
    return keras.Model(x, L.Dense(3, name="out")(L.Concatenate()([a, b, f, r])))


def states() -> keras.Model:
    """return_state outputs (LSTM h and c, GRU, Bidirectional) and initial_state inputs."""
    x = keras.Input((4, 3), name="steps")
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x)
    last, g = L.GRU(3, return_state=True)(seq)
    again = L.LSTM(4, go_backwards=True)(x, initial_state=[h, c])
    both, fh, fc, bh, bc = L.Bidirectional(L.LSTM(2, return_state=True))(x)
    named = [L.Activation("linear", name=n)(t) for n, t in
             (("h", h), ("c", c), ("g", g), ("last", last), ("again", again), ("both", both),
              ("fh", fh), ("bc", bc))]
    return keras.Model(x, named)


def cells() -> keras.Model:
    """RNN over a cell, over a list of cells and over a StackedRNNCells."""
    x = keras.Input((5, 3), name="steps")
    h = L.RNN(L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(3)]), return_sequences=True)(x)
    h = L.RNN([L.SimpleRNNCell(3), L.GRUCell(2, reset_after=False)])(h)
    g = L.RNN(L.LSTMCell(3), go_backwards=True)(x)
    return keras.Model(x, L.Dense(2, name="out")(L.Concatenate()([h, g])))


def masked() -> keras.Model:
    """Masking: ReLU zeroes every feature of about a quarter of the steps (two features),
    anywhere in the sequence; the masked LSTM, GRU and Bidirectional keep their states there."""
    x = keras.Input((7, 2), name="steps")
    m = L.Masking(0.0)(L.ReLU()(x))
    h = L.LSTM(4, return_sequences=True)(m)
    a = L.GRU(3)(h)
    b = L.Bidirectional(L.LSTM(2, return_sequences=True))(m)
    b = L.SimpleRNN(2, go_backwards=True)(b)
    return keras.Model(x, L.Dense(2, name="out")(L.Concatenate()([a, b])))


def masked_sequences() -> keras.Model:
    """A masked sequence output (padded steps repeat the last output) and TimeDistributed
    carrying the mask on."""
    x = keras.Input((6, 2), name="steps")
    m = L.Masking(0.0)(L.ReLU()(x))
    h = L.TimeDistributed(L.Dense(3, activation="tanh"))(m)
    h = L.GRU(3, return_sequences=True, reset_after=False)(h)
    return keras.Model(x, L.Activation("linear", name="seq")(h))


def embedding_mask() -> keras.Model:
    """Embedding(mask_zero=True): token id 0 is padding for the LSTM and the GRU after it."""
    tokens = keras.Input((8,), dtype="int32", name="tokens")
    h = L.Embedding(20, 4, mask_zero=True)(tokens)
    h = L.LSTM(3, return_sequences=True)(h)
    return keras.Model(tokens, L.Dense(2, name="out")(L.GRU(2, go_backwards=True)(h)))


def time_distributed() -> keras.Model:
    """TimeDistributed Dense, Conv2D and Flatten before an LSTM."""
    frames = keras.Input((4, 6, 6, 2), name="frames")
    h = L.TimeDistributed(L.Conv2D(3, 3, activation="relu"))(frames)
    h = L.TimeDistributed(L.Flatten())(h)
    h = L.TimeDistributed(L.Dense(5, activation="tanh"))(h)
    return keras.Model(frames, L.Dense(2, name="out")(L.LSTM(3)(h)))


def td_embedding() -> keras.Model:
    """TimeDistributed(Embedding) on int ids (the Reshape keeps their dtype), then a GRU."""
    ids = keras.Input((3, 4), dtype="int32", name="ids")
    h = L.TimeDistributed(L.Flatten())(L.TimeDistributed(L.Embedding(20, 3))(ids))
    return keras.Model(ids, L.Dense(2, name="out")(L.GRU(2)(h)))


def variable_length() -> keras.Model:
    """Time dimension None: no signature, but tf.keras loads it from its config and runs it."""
    x = keras.Input((None, 3), name="steps")
    return keras.Model(x, L.Dense(2, name="out")(L.LSTM(4, name="encoder")(x)))


_make_inputs = write_interop._inputs


def _five_steps(model: keras.Model, n: int) -> dict:
    """The shared input maker, with 5 steps where an input's time dimension is None (the
    model itself keeps its None)."""
    views = [SimpleNamespace(shape=tuple(5 if d is None and i == 1 else d
                                         for i, d in enumerate(t.shape)),
                             dtype=t.dtype, _history=t._history) for t in model.inputs]
    return _make_inputs(SimpleNamespace(inputs=views), n)


def test_tf_serves_savepoint_recurrent_signatures(tmp_path, monkeypatch):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    names = ["lstm_gru", "options", "bidirectional", "states", "cells", "masked",
             "masked_sequences", "embedding_mask", "time_distributed", "td_embedding"]
    cases = [_case(tmp_path, "lstm_gru", lstm_gru(), classes=False),
             _case(tmp_path, "options", options()),
             _case(tmp_path, "bidirectional", bidirectional()),
             _case(tmp_path, "states", states()),
             _case(tmp_path, "cells", cells()),
             _case(tmp_path, "masked", masked()),
             _case(tmp_path, "masked_sequences", masked_sequences()),
             _case(tmp_path, "embedding_mask", embedding_mask()),
             _case(tmp_path, "time_distributed", time_distributed()),
             _case(tmp_path, "td_embedding", td_embedding())]
    monkeypatch.setattr(write_interop, "_inputs", _five_steps)
    with pytest.warns(UserWarning, match="'encoder' \\(LSTM\\).*fixed number of timesteps.*"
                                         "Received None"):
        cases.append(_case(tmp_path, "variable_length", variable_length(), signature=False))
    cli = os.path.join(os.path.dirname(python), "saved_model_cli")
    out = _run_in_tf(python, "tf_check_saved_model.py",
                     {"cases": cases, "ops": _ops_table(), "cli": cli})
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["dir"] for r in reports] == names + ["variable_length"]
    for report in reports:
        assert report["signature"] <= 1e-5 and report["cli"] <= 1e-5
        assert report["keras"] <= 1e-5
