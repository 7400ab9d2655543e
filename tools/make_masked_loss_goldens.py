"""Regenerate the masked-loss goldens in tests/fixtures/goldens/masked_loss/ with REAL tf-keras.

tf.keras 2 uses the mask on a model's output (``y_pred._keras_mask``, left there by
``Embedding(mask_zero=True)``/``Masking`` feeding an RNN with ``return_sequences=True``) as a
sample weight in the compiled loss and metrics. This script records what that gives for a small
sequence-tagging model (Embedding(mask_zero=True) -> LSTM(return_sequences=True) ->
TimeDistributed(Dense(softmax))) with fixed weights and right-padded sequences:

* ``evaluate`` (loss, ``accuracy``, ``weighted_accuracy``), in two batches of 3;
* one ``train_on_batch`` (its logs and the weights after it), SGD;
* ``fit`` for 2 epochs (batches of 3, no shuffling): the history and the final weights;

each without sample_weight, with one weight per sequence and with one weight per token; and
a two-output model (``multi/``: Masking -> LSTM -> masked ``tags`` and unmasked ``score``).
``masked_loss.npz`` holds ``x``, ``y``, ``sw_<case>``, the initial weights ``w<i>`` and per case
``<case>/...`` arrays; ``masked_loss.json`` holds the model's Keras 2 JSON, the weight names and
the numbers (and which reduction rule the loss follows, checked here against numpy).

Run from the repository root:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_masked_loss_goldens.py
"""

from __future__ import annotations

import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "masked_loss")

VOCAB, EMBED, UNITS, CLASSES, BATCH, TIME = 10, 4, 5, 3, 6, 7
LR = 0.5


def build(keras):
    """The tagging model (also built the same way by the savepoint test)."""
    model = keras.Sequential([
        keras.layers.Embedding(VOCAB, EMBED, mask_zero=True, input_length=TIME),
        keras.layers.LSTM(UNITS, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(CLASSES, activation="softmax")),
    ])
    model.build((None, TIME))
    return model


def data():
    rng = np.random.default_rng(8)
    lengths = [7, 5, 3, 6, 1, 4]  # right padding with 0 (the masked token id)
    x = np.zeros((BATCH, TIME), dtype="int32")
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(1, VOCAB, size=n)
    # Labels on padded steps are garbage on purpose: only the mask keeps them out.
    y = rng.integers(0, CLASSES, size=(BATCH, TIME)).astype("int32")
    sws = {
        "none": None,
        "per_sample": np.array([1.0, 2.0, 0.5, 0.0, 3.0, 1.5], dtype="float32"),
        "per_token": rng.uniform(0.0, 2.0, size=(BATCH, TIME)).astype("float32"),
    }
    return x, y, sws


def weights(model):
    rng = np.random.default_rng(80)
    return [rng.uniform(-0.6, 0.6, size=w.shape).astype("float32") for w in model.get_weights()]


def main() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    from tensorflow import keras

    tf.random.set_seed(0)
    x, y, sws = data()
    model = build(keras)
    w0 = weights(model)
    arrays: dict[str, np.ndarray] = {"x": x, "y": y}
    for i, w in enumerate(w0):
        arrays[f"w{i}"] = w
    meta: dict = {"model_json": json.loads(model.to_json()),
                  "weight_names": [w.name for w in model.weights], "lr": LR, "cases": {}}

    def fresh():
        model.set_weights(w0)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=LR),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])

    for case, sw in sws.items():
        if sw is not None:
            arrays[f"sw_{case}"] = sw
        rec: dict = {}
        fresh()
        rec["evaluate"] = {k: float(v) for k, v in model.evaluate(
            x, y, sample_weight=sw, batch_size=3, verbose=0, return_dict=True).items()}
        fresh()
        rec["train_on_batch"] = {k: float(v) for k, v in model.train_on_batch(
            x, y, sample_weight=sw, return_dict=True).items()}
        for i, w in enumerate(model.get_weights()):
            arrays[f"{case}/train_on_batch/w{i}"] = w
        fresh()
        hist = model.fit(x, y, sample_weight=sw, batch_size=3, epochs=2, shuffle=False,
                         verbose=0)
        rec["fit"] = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
        for i, w in enumerate(model.get_weights()):
            arrays[f"{case}/fit/w{i}"] = w
        meta["cases"][case] = rec

    # Which reduction does the masked loss follow? Check the evaluate loss of the first batch
    # against numpy: sum(loss * mask * sw) / sum(mask) (the mask count), or / numel.
    model.set_weights(w0)
    xb, yb = x[:3], y[:3]
    probs = model(xb).numpy()
    mask = (xb != 0).astype("float64")
    tok = -np.log(np.take_along_axis(probs, yb[..., None], -1)[..., 0].astype("float64"))
    sw = sws["per_sample"][:3, None].astype("float64")
    keras_value = float(keras.losses.SparseCategoricalCrossentropy()(
        yb, model(xb), sample_weight=sws["per_sample"][:3]))
    by_mask = float((tok * mask * sw).sum() / mask.sum())
    by_numel = float((tok * mask * sw).sum() / mask.size)
    by_weight = float((tok * mask * sw).sum() / (mask * sw).sum())
    meta["reduction_check"] = {"keras": keras_value, "sum_over_mask_count": by_mask,
                               "sum_over_numel": by_numel, "sum_over_weight_sum": by_weight}
    print(json.dumps(meta["reduction_check"], indent=1))
    assert abs(keras_value - by_mask) < 1e-5 * abs(by_mask), "unexpected reduction rule"

    multi(keras, arrays, meta)
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "masked_loss.npz"), **arrays)
    with open(os.path.join(OUT, "masked_loss.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(json.dumps(meta["cases"], indent=1))


def build_multi(keras):
    """Two outputs: masked per-step ``tags`` (Masking -> LSTM(return_sequences)) and an
    unmasked per-sequence ``score`` (a second LSTM consumes the mask)."""
    inp = keras.Input((TIME, 2), name="x")
    seq = keras.layers.LSTM(UNITS, return_sequences=True, name="seq")(
        keras.layers.Masking(0.0, name="masking")(inp))
    tags = keras.layers.TimeDistributed(keras.layers.Dense(2), name="tags")(seq)
    score = keras.layers.Dense(1, name="score")(keras.layers.LSTM(3, name="pool")(seq))
    return keras.Model(inp, [tags, score])


def multi(keras, arrays: dict, meta: dict) -> None:
    """``multi/...``: the two-output model, mse on both outputs, ``mae`` on ``tags``, per-sample
    sample_weight; evaluate, train_on_batch and 2 epochs of fit."""
    rng = np.random.default_rng(88)
    lengths = [7, 2, 5, 4, 6, 3]
    x = np.zeros((BATCH, TIME, 2), dtype="float32")
    for i, n in enumerate(lengths):
        x[i, :n] = rng.uniform(0.1, 1.0, size=(n, 2))
    y_tags = rng.normal(size=(BATCH, TIME, 2)).astype("float32")
    y_score = rng.normal(size=(BATCH, 1)).astype("float32")
    sw = np.array([1.0, 0.5, 2.0, 1.0, 0.0, 1.5], dtype="float32")
    model = build_multi(keras)
    w0 = [rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in model.get_weights()]
    arrays.update({"multi/x": x, "multi/y_tags": y_tags, "multi/y_score": y_score,
                   "multi/sw": sw})
    for i, w in enumerate(w0):
        arrays[f"multi/w{i}"] = w

    def fresh():
        model.set_weights(w0)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                      loss={"tags": "mse", "score": "mse"}, loss_weights={"tags": 1.0,
                                                                          "score": 0.5},
                      metrics={"tags": ["mae"]}, weighted_metrics={"tags": ["mae"]})

    ys = {"tags": y_tags, "score": y_score}
    rec: dict = {"model_json": json.loads(model.to_json()),
                 "weight_names": [w.name for w in model.weights]}
    fresh()
    rec["evaluate"] = {k: float(v) for k, v in model.evaluate(
        x, ys, sample_weight=sw, batch_size=3, verbose=0, return_dict=True).items()}
    fresh()
    rec["train_on_batch"] = {k: float(v) for k, v in model.train_on_batch(
        x, ys, sample_weight=sw, return_dict=True).items()}
    fresh()
    hist = model.fit(x, ys, sample_weight=sw, batch_size=3, epochs=2, shuffle=False, verbose=0)
    rec["fit"] = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    for i, w in enumerate(model.get_weights()):
        arrays[f"multi/fit/w{i}"] = w
    meta["multi"] = rec


if __name__ == "__main__":
    main()
