"""Run by tests/interop/test_model_keras_interop.py in the Keras 3 venv: .keras both ways.

Usage: python keras3_check_keras.py '<json list of specs>', each with key ``action``:
  "load"  Keras 3 ``keras.models.load_model(path)`` on savepoint's file; compares with ``npz``
          (``x0``... inputs, ``y`` predictions, ``w0``... weights, ``iterations``,
          ``learning_rate``, ``slot0``... Adam's m/v in savepoint's order) and checks the
          compile config (``optimizer``, ``loss`` class names, ``from_logits``, ``metrics`` names).
  "lambda" loads savepoint's file holding a Lambda layer with ``safe_mode=False`` (and checks
          ``safe_mode=True`` refuses it); compares predictions with ``npz``'s ``x0``/``y``.
  "save"  builds fixture ``model`` (tools/make_keras_fixtures.py), trains one step, saves it to
          ``path`` and writes ``npz`` as that tool does.
Prints one OK line per check; exits 1 with a message on the first mismatch.
"""

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
os.environ["KERAS_BACKEND"] = "torch"


def fail(message: str) -> None:
    print("MISMATCH:", message)
    sys.exit(1)


def check_load(k, spec: dict) -> None:
    model = k.models.load_model(spec["path"])
    expected = np.load(spec["npz"], allow_pickle=False)
    inputs = [expected[n] for n in sorted(expected.files) if n.startswith("x")]
    got = np.asarray(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0))
    if not np.allclose(got, expected["y"], rtol=1e-5, atol=1e-5):
        fail(f"predictions differ: {got[:2]} vs {expected['y'][:2]}")
    weights = model.get_weights()
    if len(weights) != len([n for n in expected.files if n.startswith("w")]):
        fail(f"{len(weights)} weights")
    for i, w in enumerate(weights):
        if w.tobytes() != expected[f"w{i}"].tobytes():
            fail(f"weight {i} differs")
    opt = model.optimizer
    if type(opt).__name__ != spec["optimizer"]:
        fail(f"optimizer {type(opt).__name__}")
    if int(np.asarray(opt.iterations)) != int(expected["iterations"]):
        fail(f"iterations {np.asarray(opt.iterations)} != {expected['iterations']}")
    if np.float32(np.asarray(opt.learning_rate)) != np.float32(expected["learning_rate"]):
        fail(f"learning_rate {np.asarray(opt.learning_rate)}")
    slots = [np.asarray(v) for v in opt.variables[2:]]
    count = len([n for n in expected.files if n.startswith("slot")])
    if len(slots) != count:
        fail(f"{len(slots)} optimizer slots, expected {count}")
    for i, slot in enumerate(slots):
        if slot.tobytes() != expected[f"slot{i}"].tobytes():
            fail(f"optimizer slot {i} differs")
    loss = model.loss
    if type(loss).__name__ != spec["loss"] or \
            getattr(loss, "from_logits", None) != spec.get("from_logits"):
        fail(f"loss {loss!r}")
    metrics = model.get_compile_config().get("metrics") or []
    names = [m if isinstance(m, str) else m.get("class_name") for m in metrics]
    if names != spec.get("metrics", []):
        fail(f"metrics {names} != {spec.get('metrics', [])}")
    print("OK keras3 load_model", os.path.basename(spec["path"]), len(weights), len(slots))


def check_lambda(k, spec: dict) -> None:
    try:
        k.models.load_model(spec["path"])
        fail("safe_mode=True loaded a Lambda's bytecode")
    except ValueError as e:
        if "safe_mode" not in str(e):
            fail(f"unexpected error {e}")
    model = k.models.load_model(spec["path"], safe_mode=False)
    expected = np.load(spec["npz"], allow_pickle=False)
    got = np.asarray(model.predict(expected["x0"], verbose=0))
    if not np.allclose(got, expected["y"], rtol=1e-6, atol=1e-6):
        fail(f"Lambda predictions differ: {got} vs {expected['y']}")
    print("OK keras3 lambda")


def save(k, spec: dict) -> None:
    from make_keras_fixtures import build, data
    k.utils.set_random_seed(spec.get("seed", 1))
    model = build(k, spec["model"])
    x, y = data(spec["model"], np)
    model.fit(x if len(x) > 1 else x[0], y, epochs=1, batch_size=6, verbose=0)
    model.save(spec["path"])
    opt = model.optimizer
    arrays = {f"x{i}": v for i, v in enumerate(x)}
    arrays["y"] = np.asarray(model.predict(x if len(x) > 1 else x[0], verbose=0))
    arrays.update({f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
    arrays.update({f"opt{i}": np.asarray(v) for i, v in enumerate(opt.variables)})
    arrays["iterations"] = np.asarray(int(np.asarray(opt.iterations)))
    arrays["learning_rate"] = np.asarray(float(np.asarray(opt.learning_rate)))
    np.savez(spec["npz"], **arrays)
    print("OK keras3 save", spec["model"])


if __name__ == "__main__":
    import keras
    for one in json.loads(sys.argv[1]):  # one process for all: importing Keras is slow
        {"load": check_load, "lambda": check_lambda, "save": save}[one["action"]](keras, one)
