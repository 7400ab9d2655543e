"""Runs in the TF venv: tf.keras opens savepoint's .h5 models and TF checkpoints trained with
Adagrad/Adadelta/Adamax/Nadam/Ftrl, finds the same optimizer state, and takes the same next
step. Prints one JSON line per case."""

import json
import sys

import numpy as np
import tf_keras as keras


def main() -> None:
    spec = json.loads(sys.argv[1])
    for case in spec["cases"]:
        data = np.load(case["npz"])
        x, y = data["x"], data["y"]
        model = keras.models.load_model(case["h5"])
        assert type(model.optimizer).__name__ == case["name"], type(model.optimizer).__name__
        variables = model.optimizer.variables()
        assert len(variables) == int(data["n_opt"]), (len(variables), int(data["n_opt"]))
        for i, v in enumerate(variables):
            assert np.array_equal(v.numpy(), data[f"opt{i}"]), (case["name"], v.name)
        model.fit(x, y, batch_size=len(y), epochs=1, verbose=0, shuffle=False)
        diff = max(float(np.max(np.abs(a - data[f"next_w{i}"])))
                   for i, a in enumerate(model.get_weights()))
        # the TF checkpoint: same weights and slots through the object graph
        fresh = keras.models.load_model(case["h5"])
        clone = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(1)])
        clone.compile(getattr(keras.optimizers, case["name"])(learning_rate=0.05), "mse")
        clone.load_weights(case["ckpt"]).assert_existing_objects_matched()
        clone.fit(x, y, batch_size=len(y), epochs=1, verbose=0, shuffle=False)
        ckpt_diff = max(float(np.max(np.abs(a - data[f"next_w{i}"])))
                        for i, a in enumerate(clone.get_weights()))
        del fresh
        print(json.dumps({"name": case["name"], "max_step_diff": diff, "ckpt_diff": ckpt_diff}))


if __name__ == "__main__":
    main()
