"""Run in the TF venv by test_model_api_interop.py: tf.keras opens savepoint's transfer-learning
model (a nested Sequential called with training=False) from ``.h5`` and from ``to_json``,
predicts the same, fine-tunes it one step and saves it back for savepoint to open."""

import json
import sys

import numpy as np
import tensorflow as tf  # noqa: F401
import tf_keras as keras


def main() -> None:
    spec = json.loads(sys.argv[1])
    data = np.load(spec["npz"])
    x, y = data["x"], data["y"]
    model = keras.models.load_model(spec["h5"])
    np.testing.assert_allclose(model.predict(x, verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
    with open(spec["json"]) as f:
        clone = keras.models.model_from_json(f.read())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
    node = json.loads(model.to_json())["config"]["layers"][1]["inbound_nodes"]
    assert node == [[["inputs", 0, 0, {"training": False}]]], node
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    model.save(spec["out_h5"])
    np.savez(spec["out_npz"], pred=model.predict(x, verbose=0),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    print("ok")


if __name__ == "__main__":
    main()
