"""TF side of the applications interop test: tf.keras builds each application with
``weights=None`` and a fixed seed, randomises the BatchNorm statistics (so they matter), saves
``save_weights("x.h5")`` and its predictions, layer names and weight names/shapes.

Run by tests/interop/test_applications_interop.py in .venvs/tf (TF_USE_LEGACY_KERAS=1).
"""

import json
import sys

import numpy as np
import tensorflow as tf

keras = tf.keras


def load_ours(spec: dict) -> None:
    """tf.keras builds each application, loads savepoint's ``save_weights`` .h5 and reports
    the largest difference from savepoint's predictions."""
    out = {}
    for case in spec["load"]:
        keras.backend.clear_session()
        model = getattr(keras.applications, case["builder"])(weights=None, **case["kwargs"])
        model.load_weights(case["prefix"] + ".h5")
        x = np.load(case["prefix"] + ".x.npy")
        y = np.load(case["prefix"] + ".y.npy")
        out[case["builder"]] = float(np.abs(model.predict(x, verbose=0) - y).max())
    print(json.dumps(out))


def main(spec: dict) -> None:
    if "load" in spec:
        return load_ours(spec)
    out = {}
    for case in spec["cases"]:
        keras.backend.clear_session()
        keras.utils.set_random_seed(case.get("seed", 1))
        model = getattr(keras.applications, case["builder"])(weights=None, **case["kwargs"])
        rng = np.random.default_rng(case.get("seed", 1))
        new = []
        for w in model.weights:
            v = w.numpy()
            if "moving_variance" in w.name:
                v = rng.uniform(0.5, 1.5, v.shape).astype("float32")
            elif "moving_mean" in w.name or "beta" in w.name:
                v = rng.normal(0, 0.1, v.shape).astype("float32")
            elif "gamma" in w.name:
                v = rng.uniform(0.8, 1.2, v.shape).astype("float32")
            new.append(v)
        model.set_weights(new)
        prefix = case["prefix"]
        model.save_weights(prefix + ".h5")
        x = rng.uniform(0, 255, (2,) + tuple(model.input_shape[1:])).astype("float32")
        np.save(prefix + ".x.npy", x)
        np.save(prefix + ".y.npy", model.predict(x, verbose=0))
        out[case["builder"]] = {
            "layers": [l.name for l in model.layers],
            "classes": [type(l).__name__ for l in model.layers],
            "weights": [[w.name, list(w.shape)] for w in model.weights]}
    print(json.dumps(out))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
