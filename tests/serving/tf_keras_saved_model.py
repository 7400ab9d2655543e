"""Run in the TF venv: build a tf.keras model, save it as a SavedModel version folder, print
its predictions on the given rows as JSON (the serving test compares the server's answers)."""

import json
import sys

import numpy as np
import tensorflow as tf

spec = json.loads(sys.argv[1])
tf.keras.utils.set_random_seed(5)
inputs = tf.keras.Input((5,), name="features")
hidden = tf.keras.layers.Dense(8, activation="relu")(inputs)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="scores")(hidden))
model.save(spec["path"])   # no extension: a SavedModel directory
x = np.asarray(spec["x"], np.float32)
print(json.dumps({"predictions": model.predict(x, verbose=0).tolist()}))
