"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): tf.keras opens savepoint's whole-model ``.h5``
files, and writes its own for savepoint to open.

argv[1] is JSON ``{"read": [{"h5", "npz"}...], "write_dir": str}``. For each file to read it
loads the model with ``tf.keras.models.load_model``, compares predictions, every weight and every
optimizer variable (bit for bit) with the npz, fits one step on the npz's batch and compares the
result with savepoint's own continuation (``next_w*``). It then saves tools/make_h5_model_fixtures'
two models after one ``fit`` step into ``write_dir`` with their expected values. Prints one JSON
line per file; exits non-zero on any mismatch.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
import tf_keras as k

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
from make_h5_model_fixtures import functional, sequential  # noqa: E402


def inputs(data):
    return [data["x_img"], data["x_tok"]] if "x_img" in data else data["x"]


def read(entry):
    data = dict(np.load(entry["npz"]))
    model = k.models.load_model(entry["h5"])
    x, y = inputs(data), data["y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
    weights = model.get_weights()
    assert len(weights) == int(data["n_weights"])
    for i, w in enumerate(weights):
        assert np.array_equal(w, data[f"w{i}"]), f"weight {i} differs"
    opt = [v.numpy() for v in model.optimizer.variables]
    assert len(opt) == int(data["n_opt"]), (len(opt), int(data["n_opt"]))
    for i, v in enumerate(opt):
        assert np.array_equal(v, data[f"opt{i}"]), f"optimizer variable {i} differs"
    config = model.optimizer.get_config()
    assert type(model.optimizer).__name__ == str(data["opt_class"])
    assert abs(config["learning_rate"] - float(data["lr"])) < 1e-9
    for layer in model.layers:  # as savepoint did for its continuation: Dropout off
        if hasattr(layer, "rate"):
            layer.rate = 0.0
    model.fit(x, y, batch_size=len(y), epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations.numpy()) == int(data["opt0"]) + 1
    worst = 0.0
    for i, w in enumerate(model.get_weights()):
        loose = i in [int(j) for j in data["loose"]]
        np.testing.assert_allclose(w, data[f"next_w{i}"], rtol=1e-5, atol=2e-2 if loose else 2e-6)
        worst = max(worst, 0.0 if loose else float(np.abs(w - data[f"next_w{i}"]).max()))
    return {"h5": os.path.basename(entry["h5"]), "weights": len(weights), "optimizer": len(opt),
            "max_step_diff": worst}


def write(directory):
    tf.keras.utils.set_random_seed(3)
    rng = np.random.default_rng(9)
    out = []
    for name, model, x, y in [
            ("tf_sequential", sequential(k), rng.standard_normal((8, 20)).astype("float32"),
             rng.integers(0, 10, 8)),
            ("tf_functional", functional(k), [rng.standard_normal((4, 4, 4, 2)).astype("float32"),
                                              rng.integers(0, 10, (4, 5)).astype("int32")],
             rng.standard_normal((4, 2)).astype("float32"))]:
        model.fit(x, y, batch_size=len(y), epochs=1, verbose=0)
        model.save(os.path.join(directory, name + ".h5"))
        arrays = {"y": y, "pred": model.predict(x, verbose=0)}
        arrays.update({"x_img": x[0], "x_tok": x[1]} if isinstance(x, list) else {"x": x})
        arrays.update({f"opt{i}": v.numpy() for i, v in enumerate(model.optimizer.variables)})
        arrays["n_opt"] = len(model.optimizer.variables)
        arrays["lr"] = float(model.optimizer.get_config()["learning_rate"])
        np.savez(os.path.join(directory, name + ".npz"), **arrays)
        out.append({"wrote": name + ".h5"})
    return out


def main():
    spec = json.loads(sys.argv[1])
    for entry in spec["read"]:
        print(json.dumps(read(entry)))
    for line in write(spec["write_dir"]):
        print(json.dumps(line))


if __name__ == "__main__":
    main()
