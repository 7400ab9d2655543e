"""Make the Model API goldens in tests/fixtures/goldens/model_api/ with REAL tf.keras 2.

Run from the repository root (the interop venv has tensorflow-cpu and tf-keras):

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_model_api_goldens.py

Each case builds a small model from fixed numpy weights, trains it with plain SGD on fixed data
(full batches, no shuffling: nothing random), and stores in ``<case>.npz`` the data, the weights
before and after (``w0_*``/``w1_*``, ``model.get_weights()`` order) and the loss history; the
model's JSON (``model.to_json()``) and, for summaries, the printed text go in ``<case>.json``.

Cases:
  bn_frozen_base   keras.io transfer learning: ``base.trainable = False``, ``base(x, training=False)``
  bn_finetune      the recipe's second phase: ``base.trainable = True`` but still ``training=False``
  bn_layer_frozen  a BatchNormalization with ``trainable=False`` inside a trained Sequential
  class_weight     ``fit(class_weight=...)`` on sparse and on one-hot labels
  summary          ``summary()`` of a two-input functional model (the "Connected to" column)
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "model_api")


def _weights(model, rng) -> list:
    """Fixed, non-trivial values for every weight (moving variances stay positive)."""
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.name:
            values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            values.append((rng.standard_normal(shape) * 0.5).astype("float32"))
    model.set_weights(values)
    return values


def _save(name: str, arrays: dict, meta: dict) -> None:
    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, f"{name}.npz"), **arrays)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(f"[make_model_api_goldens] wrote {name}")


def base_model(keras):
    """The 'pretrained' base: Dense -> BatchNormalization -> Dense."""
    return keras.Sequential([keras.layers.Dense(6, input_shape=(4,), name="base_dense"),
                             keras.layers.BatchNormalization(name="base_bn"),
                             keras.layers.Dense(5, activation="relu", name="base_out")],
                            name="base")


def transfer_model(keras):
    """``inputs -> base(inputs, training=False) -> Dense(1)``, as on keras.io."""
    base = base_model(keras)
    inputs = keras.Input((4,), name="inputs")
    x = base(inputs, training=False)
    outputs = keras.layers.Dense(1, name="head")(x)
    return keras.Model(inputs, outputs, name="transfer"), base


def bn_cases(keras) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((12, 4)).astype("float32") * 2 + 1
    y = rng.standard_normal((12, 1)).astype("float32")
    for name, trainable in (("bn_frozen_base", False), ("bn_finetune", True)):
        model, base = transfer_model(keras)
        w0 = _weights(model, np.random.default_rng(1))
        base.trainable = trainable
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        hist = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        _save(name, {"x": x, "y": y, **{f"w0_{i}": w for i, w in enumerate(w0)},
                     **{f"w1_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())},
                     "loss": np.asarray(hist.history["loss"], "float32"),
                     "pred": model.predict(x, verbose=0)},
              {"model_json": json.loads(model.to_json()), "base_trainable": trainable,
               "weight_names": [w.name for w in model.weights]})
    model = keras.Sequential([keras.layers.Dense(6, input_shape=(4,), name="d"),
                              keras.layers.BatchNormalization(trainable=False, name="bn"),
                              keras.layers.Dense(1, name="out")], name="frozen_bn")
    w0 = _weights(model, np.random.default_rng(2))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    hist = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    _save("bn_layer_frozen", {"x": x, "y": y, **{f"w0_{i}": w for i, w in enumerate(w0)},
                              **{f"w1_{i}": np.asarray(w) for i, w in
                                 enumerate(model.get_weights())},
                              "loss": np.asarray(hist.history["loss"], "float32")},
          {"model_json": json.loads(model.to_json())})


def class_weight_cases(keras) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((10, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 2])
    sw = rng.uniform(0.5, 2.0, 10).astype("float32")
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    arrays = {"x": x, "labels": labels, "sample_weight": sw}
    for kind, loss, y in (("sparse", "sparse_categorical_crossentropy", labels),
                          ("onehot", "categorical_crossentropy",
                           np.eye(3, dtype="float32")[labels])):
        # tf.keras 2.21 fails on class_weight together with sample_weight (a TensorShape
        # error in its data adapter), so only class_weight alone has goldens.
        for with_sw in (False,):
            model = keras.Sequential([keras.layers.Dense(3, activation="softmax",
                                                         input_shape=(3,), name="probs")])
            w0 = _weights(model, np.random.default_rng(3))
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss,
                          metrics=["accuracy"])
            hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                             class_weight=class_weight, sample_weight=sw if with_sw else None)
            tag = f"{kind}{'_sw' if with_sw else ''}"
            arrays.update({f"{tag}_w0_{i}": w for i, w in enumerate(w0)})
            arrays.update({f"{tag}_w1_{i}": np.asarray(w)
                           for i, w in enumerate(model.get_weights())})
            arrays[f"{tag}_loss"] = np.asarray(hist.history["loss"], "float32")
            arrays[f"{tag}_accuracy"] = np.asarray(hist.history["accuracy"], "float32")
    _save("class_weight", arrays, {"class_weight": {str(k): v for k, v in class_weight.items()}})


def summary_case(keras) -> None:
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = keras.layers.Dense(3, name="shared")
    cat = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    out = keras.layers.Dense(2, name="out")(cat)
    model = keras.Model([a, b], out, name="two_inputs")
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    seq = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="d")], name="seq")
    seq_lines: list[str] = []
    seq.summary(print_fn=seq_lines.append)
    _save("summary", {"x": np.zeros(1, "float32")},
          {"functional": lines, "sequential": seq_lines})


def main() -> None:
    import tensorflow as tf  # noqa: F401  (tf_keras needs it imported first)
    import tf_keras as keras
    keras.utils.set_random_seed(0)
    bn_cases(keras)
    class_weight_cases(keras)
    summary_case(keras)


if __name__ == "__main__":
    main()
