"""Runs in the TF venv: tf.keras opens savepoint's .h5 model with weight constraints, finds
the constraints in its layers and keeps applying them while it trains. Prints one JSON line."""

import json
import sys

import numpy as np
import tf_keras as keras


def main() -> None:
    spec = json.loads(sys.argv[1])
    model = keras.models.load_model(spec["h5"])
    dense = model.layers[0]
    out = {"kernel": keras.constraints.serialize(dense.kernel_constraint)["class_name"],
           "kernel_config": dense.kernel_constraint.get_config(),
           "bias": keras.constraints.serialize(dense.bias_constraint)["class_name"]}
    x = np.asarray(spec["x"], "float32")
    model.fit(x, x[:, :1] * 100, epochs=3, verbose=0)
    out["max_norm"] = float(np.linalg.norm(dense.get_weights()[0], axis=0).max())
    out["min_bias"] = float(dense.get_weights()[1].min())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
