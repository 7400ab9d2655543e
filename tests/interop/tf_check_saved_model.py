"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): TensorFlow's loaders open SavedModels savepoint
wrote without TensorFlow, and savepoint's static op table matches TF's OpDef registry.

argv[1] is JSON ``{"cases": [{"dir", "npz", "compiled", "signature"}], "ops": {name: [outputs, attrs]},
"cli": path of saved_model_cli}``. The npz holds the inputs (``in:<key>``), savepoint's
predictions (``out:<key>``), its weights (``w<i>``), and for compiled models ``y`` and its
``evaluate`` results (``eval``). For each case:

- ``tf.saved_model.load(d).signatures["serving_default"]`` at the full batch and at batch 1
  (a dynamic batch) reproduces the predictions within 1e-5, with tf.keras's input/output keys;
- ``saved_model_cli show --all`` lists the signature, and ``saved_model_cli run`` (the TF1
  session loader: Placeholders, saver restore ops, StatefulPartitionedCall) gives the same
  outputs;
- ``tf.keras.models.load_model(d)`` returns a model with every weight equal bit for bit, the
  same predictions, ``evaluate`` results and compile config, and it trains one more epoch.

Prints one JSON line per case; exits non-zero on any mismatch.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf
import tf_keras as k
from tensorflow.python.framework import op_def_registry


def check_ops(table):
    for name, (outputs, attrs) in table.items():
        op = op_def_registry.get(name)
        assert op is not None, f"op {name} unknown to TF"
        assert [a.name for a in op.output_arg] == outputs, (name, outputs)
        real = {a.name: a.type for a in op.attr}
        for attr, kind in attrs.items():
            assert real.get(attr) == kind, (name, attr, kind, real.get(attr))
        required = {a.name for a in op.attr if not a.HasField("default_value")}
        assert required <= set(attrs), (name, required - set(attrs))


def close(a, b, what):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) \
        if np.size(a) else 0.0
    assert err <= 1e-5, f"{what}: max error {err}"
    return err


def check_signature(d, data):
    inputs = {key[3:]: data[key] for key in data if key.startswith("in:")}
    outputs = {key[4:]: data[key] for key in data if key.startswith("out:")}
    fn = tf.saved_model.load(d).signatures["serving_default"]
    assert sorted(fn.structured_input_signature[1]) == sorted(inputs), \
        (fn.structured_input_signature, sorted(inputs))
    assert sorted(fn.structured_outputs) == sorted(outputs), (fn.structured_outputs, outputs)
    worst = 0.0
    for rows in (slice(None), slice(0, 1)):
        got = fn(**{key: tf.constant(v[rows]) for key, v in inputs.items()})
        for key, want in outputs.items():
            worst = max(worst, close(got[key].numpy(), want[rows], f"signature {key}"))
    return worst


def check_cli(cli, d, data):
    shown = subprocess.run([cli, "show", "--dir", d, "--all"], capture_output=True, text=True)
    assert shown.returncode == 0 and "serving_default" in shown.stdout, shown.stderr[-2000:]
    tmp = tempfile.mkdtemp()
    args = []
    for key in data:
        if key.startswith("in:"):
            path = os.path.join(tmp, key[3:] + ".npy")
            np.save(path, data[key])
            args.append(f"{key[3:]}={path}")
    out = os.path.join(tmp, "out")
    run = subprocess.run([cli, "run", "--dir", d, "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", ";".join(args), "--outdir", out],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    worst = 0.0
    for key in data:
        if key.startswith("out:"):
            worst = max(worst, close(np.load(os.path.join(out, key[4:] + ".npy")), data[key],
                                     f"saved_model_cli {key}"))
    return worst


class Doubler(k.layers.Layer):
    """The custom layer of the interop test's ``custom`` case, as its user would define it."""

    def call(self, x):
        return x * 2


def check_keras(d, data, compiled):
    model = k.models.load_model(d, custom_objects={"Doubler": Doubler})
    weights = model.get_weights()
    assert len(weights) == int(data["n_weights"]), (len(weights), int(data["n_weights"]))
    for i, w in enumerate(weights):
        assert np.array_equal(w, data[f"w{i}"]), f"weight {i} differs"
    inputs = [data[key] for key in data["input_order"]]
    x = inputs[0] if len(inputs) == 1 else inputs
    pred = model.predict(x, verbose=0)
    pred = pred if isinstance(pred, list) else [pred]
    worst = max(close(p, data[key], f"load_model predict {key}")
                for p, key in zip(pred, data["output_order"]))
    if not compiled:
        assert model.optimizer is None
        return worst, None
    result = model.evaluate(x, data["y"], verbose=0)
    result = result if isinstance(result, list) else [result]
    worst = max(worst, close(result, data["eval"], "evaluate"))
    assert type(model.optimizer).__name__ == str(data["opt_class"])
    assert abs(model.optimizer.get_config()["learning_rate"] - float(data["lr"])) < 1e-9
    history = model.fit(x, data["y"], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    return worst, result


def main():
    spec = json.loads(sys.argv[1])
    check_ops(spec["ops"])
    for case in spec["cases"]:
        data = dict(np.load(case["npz"]))
        d = case["dir"]
        report = {"dir": os.path.basename(d)}
        if case.get("signature", True):
            report.update(signature=check_signature(d, data), cli=check_cli(spec["cli"], d, data))
        else:  # no serving signature was written: TF loads the objects, lists no signature
            assert not tf.saved_model.load(d).signatures, "expected no signatures"
            report.update(signature=0.0, cli=0.0)
        report["keras"], report["eval"] = check_keras(d, data, case["compiled"])
        print(json.dumps(report))


if __name__ == "__main__":
    main()
