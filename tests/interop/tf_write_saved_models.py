"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): tf.keras writes SavedModels for savepoint to read.

argv[1] is JSON ``{"out": dir, "mnist": npz, "epochs": int, "families": [names]}``:

- the tutorial's own model at full size (Dense 784->512 relu, Dropout 0.2, Dense 10; Adam,
  SparseCategoricalCrossentropy(from_logits=True), sparse_categorical_accuracy) trained on the
  npz's ``x_train``/``y_train`` for ``epochs`` epochs and saved by ``model.save(out/tutorial)``;
  then ``tf.keras.models.load_model`` of that directory evaluates on ``x_test``/``y_test`` and
  predicts, into ``out/tutorial.npz``;
- every architecture family of tools/make_saved_model_fixtures.py, saved fresh into ``out/<name>``
  with its ``<name>.npz`` (the same builders as the golden fixtures);
- more layer families (nested model, Bidirectional LSTM, Conv1D + LayerNormalization,
  TimeDistributed + SimpleRNN, MultiHeadAttention, two outputs, SeparableConv2D/DepthwiseConv2D/
  UpSampling2D), each with ``x``, ``pred<i>`` and ``n_weights``.

Prints one JSON line: the tutorial's TF accuracy and loss, and the names of the extra models.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
import tf_keras as k

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
import make_saved_model_fixtures as fixtures  # noqa: E402


def tutorial(spec):
    tf.keras.utils.set_random_seed(1)
    data = dict(np.load(spec["mnist"]))
    model = k.Sequential([k.layers.Dense(512, activation="relu", input_shape=(784,)),
                          k.layers.Dropout(0.2), k.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[k.metrics.SparseCategoricalAccuracy()])
    model.fit(data["x_train"], data["y_train"], epochs=spec["epochs"], verbose=0)
    target = os.path.join(spec["out"], "tutorial")
    model.save(target)  # tf.keras 2's default whole-model format: a SavedModel
    loaded = k.models.load_model(target)
    loss, acc = loaded.evaluate(data["x_test"], data["y_test"], verbose=0)
    np.savez(os.path.join(spec["out"], "tutorial.npz"), loss=loss, acc=acc,
             pred=loaded.predict(data["x_test"], verbose=0),
             iterations=np.int64(model.optimizer.iterations.numpy()))
    return {"loss": float(loss), "acc": float(acc)}


def _more(rng):
    """More layer families, each ``(model, x)``: written uncompiled-but-compiled ("mse")."""
    inner = k.Sequential([k.layers.Dense(4, activation="relu", input_shape=(3,)),
                          k.layers.Dense(3)], name="inner")
    a = k.Input((3,))
    b = k.Input((4, 6))
    c = k.Input((3,), name="c")
    h = k.layers.Dense(4)(c)
    return {
        "nested": (k.Model(a, k.layers.Dense(2)(inner(a))), rng.random((8, 3))),
        "bidirectional": (k.Sequential([k.layers.Bidirectional(k.layers.LSTM(3),
                                                               input_shape=(4, 2)),
                                        k.layers.Dense(2)]), rng.random((8, 4, 2))),
        "conv1d_layernorm": (k.Sequential([k.layers.Conv1D(3, 2, input_shape=(6, 2)),
                                           k.layers.LayerNormalization(),
                                           k.layers.GlobalMaxPooling1D(), k.layers.Dense(2)]),
                             rng.random((8, 6, 2))),
        "timedistributed": (k.Sequential([k.layers.TimeDistributed(k.layers.Dense(3),
                                                                   input_shape=(4, 2)),
                                          k.layers.SimpleRNN(2)]), rng.random((8, 4, 2))),
        "attention": (k.Model(b, k.layers.Dense(2)(k.layers.MultiHeadAttention(2, 3)(b, b))),
                      rng.random((8, 4, 6))),
        "two_outputs": (k.Model(c, [k.layers.Dense(1, name="o1")(h),
                                    k.layers.Dense(2, name="o2")(h)]), rng.random((8, 3))),
        "separable": (k.Sequential([k.layers.SeparableConv2D(3, 3, input_shape=(6, 6, 2)),
                                    k.layers.DepthwiseConv2D(2), k.layers.UpSampling2D(),
                                    k.layers.Flatten(), k.layers.Dense(2)]),
                      rng.random((4, 6, 6, 2))),
    }


def write_more(out):
    tf.keras.utils.set_random_seed(2)
    names = []
    for name, (model, x) in _more(np.random.default_rng(2)).items():
        x = x.astype("float32")
        model.compile(optimizer="adam", loss="mse")
        model.save(os.path.join(out, name))
        pred = model.predict(x, verbose=0)
        pred = pred if isinstance(pred, list) else [pred]
        np.savez(os.path.join(out, f"{name}.npz"), x=x, n_weights=len(model.weights),
                 **{f"pred{i}": p for i, p in enumerate(pred)})
        names.append(name)
    return names


def main():
    spec = json.loads(sys.argv[1])
    result = tutorial(spec)
    for name in spec["families"]:
        fixtures.write_keras(name, spec["out"], pack=False)
    result["more"] = write_more(spec["out"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
