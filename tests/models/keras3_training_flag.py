"""Runs in the Keras 3 venv for test_keras_training_flag.py: ``make`` saves Keras 3's own
keras.io transfer-learning model (``base(x, training=False)``, then Dropout) as ``.keras`` with
its predictions; ``load`` opens savepoint's file and prints its predictions and the base call's
recorded kwargs. One JSON line on stdout."""

import json
import os
import sys

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"


def make(spec: dict) -> dict:
    import keras
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, name="base_dense"),
                             keras.layers.BatchNormalization(name="base_bn"),
                             keras.layers.Dense(5, activation="relu", name="base_out")],
                            name="base")
    inputs = keras.Input((4,), name="inputs")
    x = base(inputs, training=False)
    x = keras.layers.Dropout(0.5, name="drop")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(x), name="transfer")
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    x = rng.standard_normal((6, 4)).astype("float32")
    model.save(spec["path"])
    np.savez(spec["npz"], x=x, y=np.asarray(model.predict(x, verbose=0)))
    return {"saved": spec["path"]}


def load(spec: dict) -> dict:
    import keras
    model = keras.models.load_model(spec["path"])
    x = np.load(spec["npz"])["x"]
    node = model.get_layer("base")._inbound_nodes[0]
    return {"pred": np.asarray(model.predict(x, verbose=0)).tolist(),
            "base_kwargs": {k: v for k, v in node.arguments.kwargs.items()
                            if isinstance(v, (bool, int, float, str))}}


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    print(json.dumps((make if spec["mode"] == "make" else load)(spec)))
