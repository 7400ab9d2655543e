"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): tf.keras writes SavedModels for savepoint to read.

argv[1] is JSON ``{"out": dir, "mnist": npz, "epochs": int, "families": [names]}``:

- the tutorial's own model at full size (Dense 784->512 relu, Dropout 0.2, Dense 10; Adam,
  SparseCategoricalCrossentropy(from_logits=True), sparse_categorical_accuracy) trained on the
  npz's ``x_train``/``y_train`` for ``epochs`` epochs and saved by ``model.save(out/tutorial)``;
  then ``tf.keras.models.load_model`` of that directory evaluates on ``x_test``/``y_test`` and
  predicts, into ``out/tutorial.npz``;
- every architecture family of tools/make_saved_model_fixtures.py, saved fresh into ``out/<name>``
  with its ``<name>.npz`` (the same builders as the golden fixtures).

Prints one JSON line: the tutorial's TF accuracy and loss.
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


def main():
    spec = json.loads(sys.argv[1])
    result = tutorial(spec)
    for name in spec["families"]:
        fixtures.write_keras(name, spec["out"], pack=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
