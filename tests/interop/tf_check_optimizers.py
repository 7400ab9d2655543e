"""Runs in the TF venv: tf.keras opens savepoint's .h5 models and TF checkpoints trained with
Adagrad/Adadelta/Adamax/Nadam/Ftrl, finds the same optimizer state, and takes the same next
step. Prints one JSON line per case."""

import json
import sys

import numpy as np
import tf_keras as keras


def write(out_dir: str, names: list) -> None:
    """tf.keras trains and saves a model per optimizer; its state and next step go beside."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 4)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    for name in names:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)),
                                  keras.layers.Dense(1)])
        model.compile(getattr(keras.optimizers, name)(learning_rate=0.05), "mse")
        model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        model.save(f"{out_dir}/{name}.h5")
        arrays = {"x": x, "y": y, "n_opt": len(model.optimizer.variables())}
        arrays.update({f"opt{i}": v.numpy() for i, v in enumerate(model.optimizer.variables())})
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        arrays.update({f"next_w{i}": w for i, w in enumerate(model.get_weights())})
        np.savez(f"{out_dir}/{name}.npz", **arrays)


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("write_dir"):
        write(spec["write_dir"], spec["names"])
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
