"""What the Model API tests share: the tf.keras goldens tools/make_model_api_goldens.py writes and
the keras.io transfer-learning model they are made from."""

import json
import os

import numpy as np

import savepoint as keras

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens",
                       "model_api")


def golden(name):
    """``(arrays, meta)``: ``<name>.npz`` as a dict and ``<name>.json``."""
    with open(os.path.join(GOLDENS, f"{name}.json")) as f:
        meta = json.load(f)
    return dict(np.load(os.path.join(GOLDENS, f"{name}.npz"))), meta


def transfer_model():
    """The golden tool's ``transfer_model``, in savepoint: ``base(x, training=False)`` on a
    nested Sequential with BatchNormalization, then a Dense head. Returns ``(model, base)``."""
    base = keras.Sequential([keras.layers.Dense(6, input_shape=(4,), name="base_dense"),
                             keras.layers.BatchNormalization(name="base_bn"),
                             keras.layers.Dense(5, activation="relu", name="base_out")],
                            name="base")
    inputs = keras.Input((4,), name="inputs")
    x = base(inputs, training=False)
    outputs = keras.layers.Dense(1, name="head")(x)
    return keras.Model(inputs, outputs, name="transfer"), base
