"""Runs in the TF venv for tests/layers/test_recurrent_constants.py: loads savepoint's ``.h5`` of
graph_cases' RNN-with-constants model (the cell class from graph_cases as custom object),
predicts, and saves tf.keras's own ``.h5`` of the same model with its predictions. One JSON
line on stdout."""

import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def main(spec: dict) -> None:
    import tensorflow as tf  # noqa: F401  (tf_keras needs it imported first)
    import tf_keras as keras

    import graph_cases  # beside this script
    cell = graph_cases.constants_cell(keras)
    (x, c), _ = graph_cases.constants_data()
    ours = keras.models.load_model(spec["ours"], custom_objects={"CellWithConstants": cell})
    theirs = graph_cases.constants_model(keras)
    theirs.save(spec["theirs"])
    np.savez(spec["npz"], ours_pred=ours.predict([x, c], verbose=0),
             theirs_pred=theirs.predict([x, c], verbose=0))
    print(json.dumps({"num_constants": ours.get_layer("rnn")._num_constants}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
