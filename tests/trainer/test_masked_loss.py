"""The output's Keras mask weighs the compiled loss and metrics, as in tf.keras 2: a tagging
model (Embedding(mask_zero) -> LSTM(return_sequences) -> TimeDistributed(Dense)) against the
numbers real tf-keras produced (tools/make_masked_loss_goldens.py)."""

import io
import json
import os
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.trainer import compile_utils

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "masked_loss")
META = json.load(open(os.path.join(HERE, "masked_loss.json")))
G = dict(np.load(os.path.join(HERE, "masked_loss.npz")))
CASES = ["none", "per_sample", "per_token"]
RTOL, ATOL = 1e-5, 1e-6


def _model() -> keras.Model:
    model = keras.Sequential([
        keras.layers.Embedding(10, 4, mask_zero=True, input_length=7),
        keras.layers.LSTM(5, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax")),
    ])
    model.build((None, 7))
    model.set_weights([G[f"w{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=META["lr"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    return model


def _sw(case):
    return G.get(f"sw_{case}")


def _close(got: dict, want: dict):
    assert set(got) == set(want), (got, want)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k], dtype="float64"), want[k], rtol=RTOL,
                                   atol=ATOL, err_msg=k)


def test_weight_layout_matches_tf_keras():
    assert len(_model().weights) == len(META["weight_names"])


@pytest.mark.parametrize("case", CASES)
def test_evaluate_matches_tf_keras(case):
    logs = _model().evaluate(G["x"], G["y"], sample_weight=_sw(case), batch_size=3, verbose=0,
                             return_dict=True)
    _close(logs, META["cases"][case]["evaluate"])


@pytest.mark.parametrize("case", CASES)
def test_train_on_batch_matches_tf_keras(case):
    model = _model()
    logs = model.train_on_batch(G["x"], G["y"], sample_weight=_sw(case), return_dict=True)
    _close(logs, META["cases"][case]["train_on_batch"])
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, G[f"{case}/train_on_batch/w{i}"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES)
def test_fit_history_and_weights_match_tf_keras(case):
    model = _model()
    hist = model.fit(G["x"], G["y"], sample_weight=_sw(case), batch_size=3, epochs=2,
                     shuffle=False, verbose=0)
    _close(hist.history, META["cases"][case]["fit"])
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, G[f"{case}/fit/w{i}"], rtol=RTOL, atol=ATOL)


def test_progress_bar_shows_masked_values():
    model = _model()
    out = io.StringIO()
    with redirect_stdout(out):
        model.evaluate(G["x"], G["y"], batch_size=3, verbose=1)
    want = META["cases"]["none"]["evaluate"]
    text = out.getvalue()
    assert f"loss: {want['loss']:.4f}" in text, text
    assert f"accuracy: {want['accuracy']:.4f}" in text, text


def test_standalone_loss_reads_the_mask_and_divides_by_its_count():
    # tf.keras 2's Loss.__call__ itself reads y_pred._keras_mask: the sum of the weighted
    # token losses over the number of unmasked tokens (the generator checked this rule).
    model = _model()
    xb, yb, sw = G["x"][:3], G["y"][:3], G["sw_per_sample"][:3]
    value = keras.losses.SparseCategoricalCrossentropy()(yb, model(xb), sample_weight=sw)
    np.testing.assert_allclose(float(value.detach()), META["reduction_check"]["keras"], rtol=RTOL)


def test_apply_mask_broadcasts_per_sample_weights():
    mask = torch.tensor([[True, False], [True, True]])
    got = compile_utils.apply_mask(torch.zeros(2, 2, 3), [[2.0], [3.0]], mask)
    assert got.tolist() == [[2.0, 0.0], [3.0, 3.0]]
    assert compile_utils.apply_mask(torch.zeros(2), "sw", None) == "sw"


def test_unmasked_outputs_take_the_plain_path(monkeypatch):
    # No _keras_mask on the output: the loss and metrics get the caller's sample_weight
    # unchanged, and apply_mask is never called (no extra work on the hot path).
    calls = []
    monkeypatch.setattr(compile_utils, "apply_mask",
                        lambda *a: calls.append(a) or a[1])
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x = np.random.RandomState(0).rand(8, 4).astype("float32")
    y = np.arange(8) % 3
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert calls == []


def test_metrics_keep_the_mask_after_detaching():
    t = torch.ones(2, 2, requires_grad=True)
    t._keras_mask = torch.tensor([[True, False], [True, True]])
    d = compile_utils._detach(t)
    assert not d.requires_grad and d._keras_mask is t._keras_mask


def _multi_model() -> keras.Model:
    inp = keras.Input((7, 2), name="x")
    seq = keras.layers.LSTM(5, return_sequences=True, name="seq")(
        keras.layers.Masking(0.0, name="masking")(inp))
    tags = keras.layers.TimeDistributed(keras.layers.Dense(2), name="tags")(seq)
    score = keras.layers.Dense(1, name="score")(keras.layers.LSTM(3, name="pool")(seq))
    model = keras.Model(inp, [tags, score])
    model.set_weights([G[f"multi/w{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss={"tags": "mse", "score": "mse"}, loss_weights={"tags": 1.0, "score": 0.5},
                  metrics={"tags": ["mae"]}, weighted_metrics={"tags": ["mae"]})
    return model


MULTI_Y = {"tags": G["multi/y_tags"], "score": G["multi/y_score"]}


def test_two_outputs_mask_only_the_masked_one():
    # ``tags`` carries Masking's mask, ``score`` (after an LSTM that consumes it) does not:
    # per-output losses, the total and the tags metrics all match tf.keras.
    model = _multi_model()
    assert [tuple(w.shape) for w in model.get_weights()] == \
        [G[f"multi/w{i}"].shape for i in range(len(META["multi"]["weight_names"]))]
    logs = model.evaluate(G["multi/x"], MULTI_Y, sample_weight=G["multi/sw"], batch_size=3,
                          verbose=0, return_dict=True)
    _close(logs, META["multi"]["evaluate"])
    model = _multi_model()
    _close(model.train_on_batch(G["multi/x"], MULTI_Y, sample_weight=G["multi/sw"],
                                return_dict=True), META["multi"]["train_on_batch"])
    model = _multi_model()
    hist = model.fit(G["multi/x"], MULTI_Y, sample_weight=G["multi/sw"], batch_size=3, epochs=2,
                     shuffle=False, verbose=0)
    _close(hist.history, META["multi"]["fit"])
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, G[f"multi/fit/w{i}"], rtol=RTOL, atol=ATOL)
