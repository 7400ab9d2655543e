"""Run by tests/interop/test_tf_keras_models.py in the TensorFlow venv: tf-keras restores models
from checkpoints savepoint wrote.

Usage: python tf_check_models.py '<json spec>'; spec keys:
  report       path of the JSON report to write: {check name: "ok" or the failure}
  weights      [{name, model, prefix, directory, latest, inputs_npz, ours_npz, tensors_npz,
                 manifest, fit_step}]: build keras_models.<model> with tf_keras,
                 model.load_weights(prefix), and check matching, weights, predictions, Adam
                 state (restored when the optimizer builds), one fit step, every tensor via
                 tf.train.load_checkpoint, and tf.train.latest_checkpoint(directory) == latest
  checkpoints  [{name, model, prefix, directory, inputs_npz, ours_npz}]: the same through
                 tf.train.Checkpoint(model=..., optimizer=...).restore(prefix)
``ours_npz`` holds savepoint's ``w0``.. (get_weights order), ``o0``.. (optimizer.variables
order), ``y`` (predictions on the ``x0``.. of ``inputs_npz``) and ``iterations``.
Every check runs even when another fails; the script exits 0 once the report is written.
"""

import json
import os
import sys
import traceback

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

import keras_models  # noqa: E402  (beside this script)

REPORT: dict = {}


def check(name):
    """Record ``name`` as "ok" or as the failure of the decorated check (which runs now)."""
    def run(fn):
        try:
            fn()
            REPORT[name] = "ok"
        except Exception:  # noqa: BLE001 - every failure is reported, none stops the rest
            REPORT[name] = traceback.format_exc(limit=3)[-3000:]
        return fn
    return run


def _same_bits(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
        raise AssertionError(f"{what}: TF has {got.dtype}{got.shape} {got.ravel()[:4]}, "
                             f"savepoint wrote {want.dtype}{want.shape} {want.ravel()[:4]}")


def _feed(npz):
    xs = [npz[k] for k in sorted(k for k in npz.files if k.startswith("x"))]
    return xs if len(xs) > 1 else xs[0]


def _compare_model(tag, model, ours, inputs):
    @check(f"{tag}: weights bit-exact")
    def _():
        weights = model.get_weights()
        assert len(weights) == sum(k.startswith("w") for k in ours.files), len(weights)
        for i, w in enumerate(weights):
            _same_bits(w, ours[f"w{i}"], f"weight {i} ({model.weights[i].name})")

    @check(f"{tag}: predictions")
    def _():
        got = model.predict(_feed(inputs), verbose=0)
        np.testing.assert_allclose(got, ours["y"], rtol=0, atol=1e-5)


def _compare_optimizer(tag, model, ours):
    @check(f"{tag}: Adam state restored when the optimizer builds")
    def _():
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        variables = optimizer.variables
        assert len(variables) == sum(k.startswith("o") for k in ours.files), len(variables)
        for i, v in enumerate(variables):
            _same_bits(v.numpy(), ours[f"o{i}"], f"optimizer variable {v.name}")
        assert int(optimizer.iterations.numpy()) == int(ours["iterations"])


def check_weights(spec):
    tag = spec["name"]
    ours, inputs = np.load(spec["ours_npz"]), np.load(spec["inputs_npz"])
    tf_keras.backend.clear_session()
    model = keras_models.BUILDERS[spec["model"]](tf_keras)
    status = model.load_weights(spec["prefix"])

    check(f"{tag}: assert_existing_objects_matched")(
        lambda: status.assert_existing_objects_matched())
    _compare_model(tag, model, ours, inputs)
    _compare_optimizer(tag, model, ours)
    check(f"{tag}: assert_consumed after the optimizer built")(lambda: status.assert_consumed())

    @check(f"{tag}: one fit step continues the iterations")
    def _():
        x = _feed(inputs)
        y = np.zeros(len(ours["y"]), np.int64) if spec["model"] != "conv_sequential" else \
            np.zeros_like(ours["y"])
        model.fit(x, y, batch_size=len(y), epochs=1, verbose=0)
        assert int(model.optimizer.iterations.numpy()) == int(ours["iterations"]) + 1

    @check(f"{tag}: tf.train.load_checkpoint reads every tensor bit-exactly")
    def _():
        reader = tf.train.load_checkpoint(spec["prefix"])
        dtypes = reader.get_variable_to_dtype_map()
        with open(spec["manifest"]) as f:
            manifest = json.load(f)
        assert sorted(dtypes) == sorted(t["key"] for t in manifest), "key sets differ"
        tensors = np.load(spec["tensors_npz"])
        for t in manifest:
            assert dtypes[t["key"]].name == t["dtype"], (t["key"], dtypes[t["key"]], t["dtype"])
            got, want = reader.get_tensor(t["key"]), tensors[t["npz"]]
            if t["dtype"] == "string":  # stored as uint8 (np.bytes_ drops trailing NULs)
                assert bytes(got) == want.tobytes(), t["key"]
            else:
                _same_bits(got, want, t["key"])

    @check(f"{tag}: tf.train.latest_checkpoint follows the state file")
    def _():
        latest = tf.train.latest_checkpoint(spec["directory"])
        assert latest == spec["latest"], (latest, spec["latest"])


def check_checkpoint(spec):
    tag = spec["name"]
    ours, inputs = np.load(spec["ours_npz"]), np.load(spec["inputs_npz"])
    tf_keras.backend.clear_session()
    model = keras_models.BUILDERS[spec["model"]](tf_keras)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)

    @check(f"{tag}: tf.train.latest_checkpoint follows the state file")
    def _():
        latest = tf.train.latest_checkpoint(spec["directory"])
        assert latest == spec["prefix"], (latest, spec["prefix"])

    status = checkpoint.restore(spec["prefix"])
    check(f"{tag}: assert_existing_objects_matched")(
        lambda: status.assert_existing_objects_matched())
    _compare_model(tag, model, ours, inputs)
    _compare_optimizer(tag, model, ours)
    check(f"{tag}: assert_consumed after the optimizer built")(lambda: status.assert_consumed())

    @check(f"{tag}: save_counter restored")
    def _():
        assert int(checkpoint.save_counter.numpy()) == int(ours["save_counter"])


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    for item in spec.get("weights", []):
        check_weights(item)
    for item in spec.get("checkpoints", []):
        check_checkpoint(item)
    with open(spec["report"], "w") as f:
        json.dump(REPORT, f, indent=1)
    print(f"checked {len(REPORT)}: {sum(v == 'ok' for v in REPORT.values())} ok")
