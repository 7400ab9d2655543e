"""Run by tests/interop in the tf-keras or the Keras 3 venv: load savepoint's HDF5 weights.

Usage: python keras_check_h5.py '<json list of specs>', each with keys
  side       "tf_keras" (Keras 2 ``w.h5``) or "keras3" (``m.weights.h5``)
  model      fixture architecture name from tools/make_h5_fixtures.py (seq, conv, emb)
  path       the weights file savepoint wrote
  npz        expected x, y (predictions) and w0... (get_weights order); for an optimizer
             check also iterations, learning_rate and opt2... (Keras 3 slot variables)
  optimizer  (opt.) true: compile with Adam, build its slots, and compare its state too
Prints one OK line per check; exits 1 with a message on the first mismatch.
"""

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def fail(message: str) -> None:
    print("MISMATCH:", message)
    sys.exit(1)


def main(spec: dict) -> None:
    if spec["side"] == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as k
    else:
        os.environ["KERAS_BACKEND"] = "torch"
        import keras as k
    from make_h5_fixtures import build  # the fixture architectures, one definition
    model = build(k, spec["model"])
    if spec.get("optimizer"):
        model.compile(optimizer=k.optimizers.Adam(learning_rate=0.5), loss="mse")
        model.optimizer.build(model.trainable_variables)
    model.load_weights(spec["path"])
    expected = np.load(spec["npz"], allow_pickle=False)
    weights = model.get_weights()
    count = len([n for n in expected.files if n.startswith("w")])
    if len(weights) != count:
        fail(f"{len(weights)} weights, expected {count}")
    for i, w in enumerate(weights):
        if w.shape != expected[f"w{i}"].shape or w.tobytes() != expected[f"w{i}"].tobytes():
            fail(f"weight {i} differs after load_weights")
    got = np.asarray(model.predict(expected["x"], verbose=0))
    if not np.allclose(got, expected["y"], rtol=1e-5, atol=1e-6):
        fail(f"predictions differ: {got} vs {expected['y']}")
    print("OK load_weights", spec["side"], spec["model"], len(weights))
    if spec.get("optimizer"):
        check_optimizer(model.optimizer, expected)


def check_optimizer(opt, expected) -> None:
    if int(np.asarray(opt.iterations)) != int(expected["iterations"]):
        fail(f"iterations {np.asarray(opt.iterations)} != {expected['iterations']}")
    if not np.isclose(float(np.asarray(opt.learning_rate)), float(expected["learning_rate"])):
        fail(f"learning_rate {np.asarray(opt.learning_rate)} != {expected['learning_rate']}")
    variables = opt.variables
    for name in expected.files:
        if name.startswith("opt"):
            got = np.asarray(variables[int(name[3:])])
            if got.tobytes() != expected[name].tobytes():
                fail(f"optimizer variable {name} differs")
    print("OK optimizer state", len(variables))


if __name__ == "__main__":
    for one in json.loads(sys.argv[1]):  # one process for all: importing Keras is slow
        main(one)
