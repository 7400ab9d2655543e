"""LIVE: TensorFlow's own TFLite converter consumes the SavedModels savepoint writes.

Issue 10 promises "the SavedModel TF Serving, the TF.js and TFLite converters and
saved_model_cli consume". For the export families (tests/exports/export_families.py: the
tutorial MLP, a CNN with BatchNorm, two inputs and two outputs, an Embedding model, fixed-length
LSTM/GRU, MobileNetV2), written both by ``model.save(dir)`` (savepoint's directory with TF's
files beside its own) and by ``model.export(dir, format="tf_saved_model")``:
``tf.lite.TFLiteConverter.from_saved_model(dir).convert()`` succeeds and ``tf.lite.Interpreter``
on the flatbuffer (TFLite builtin ops only, the batch left dynamic) reproduces savepoint's
``model.predict`` within 1e-5 (float32) at batch 6 and at batch 1. One TensorFlow process
converts and runs every case (tf_check_converters.py).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from venv_runners import _interop_python, _run_in_tf, TF_PYTHON

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "exports"))
from export_families import FAMILIES, build, input_names, inputs_for  # noqa: E402

# the families, by their export_families names
NAMES = ["tutorial_mlp", "cnn", "two_in_two_out", "text", "rnn", "mobilenet_v2"]
# a TFLite builtin each family's flatbuffer must use (the converter kept the layer's meaning)
BUILTINS = {"tutorial_mlp": "FULLY_CONNECTED", "cnn": "CONV_2D", "two_in_two_out": "CONCATENATION",
            "text": "GATHER", "rnn": "TANH", "mobilenet_v2": "DEPTHWISE_CONV_2D"}
WRITERS = {"save": lambda m, d: m.save(d),
           "export": lambda m, d: m.export(d, format="tf_saved_model")}


def _case(tmp_path, family: str, how: str) -> dict:
    model = build(FAMILIES[family])
    xs = inputs_for(model, 6)
    pred = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    pred = pred if isinstance(pred, list) else [pred]
    arrays = {f"in:{n}": x for n, x in zip(input_names(model), xs)}
    arrays.update({f"out:{n}": p for n, p in zip(model.output_names, pred)})
    name = f"{family}_{how}"
    d = str(tmp_path / name)
    WRITERS[how](model, d)
    np.savez(str(tmp_path / f"{name}.npz"), **arrays)
    return {"name": name, "family": family, "dir": d, "npz": str(tmp_path / f"{name}.npz"),
            "inputs": sorted(input_names(model)), "outputs": sorted(model.output_names),
            "shapes": {n: list(p.shape) for n, p in zip(model.output_names, pred)}}


def test_tflite_converter_consumes_savepoint_saved_models(tmp_path):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    cases = [_case(tmp_path, family, how) for family in NAMES for how in WRITERS]
    out = _run_in_tf(python, "tf_check_converters.py", {"cases": cases})
    reports = {r["name"]: r for r in (json.loads(line) for line in out.splitlines()
                                      if line.startswith("{"))}
    assert sorted(reports) == sorted(c["name"] for c in cases), out[-3000:]
    for case in cases:
        report = reports[case["name"]]
        assert "error" not in report, (case["name"], report.get("error"))
        assert report["inputs"] == case["inputs"] and report["outputs"] == case["outputs"]
        assert report["shapes"] == case["shapes"], (case["name"], report["shapes"])
        assert set(report["dtypes"].values()) == {"float32"}, report["dtypes"]
        assert max(report["errors"].values()) <= 1e-5, (case["name"], report["errors"])
        assert min(report["scales"].values()) > 1e-3, (case["name"], report["scales"])
        assert report["batch_dims"] == [-1], (case["name"], report["batch_dims"])
        # TFLite builtins only: no Flex (SELECT_TF_OPS) kernels were needed
        assert BUILTINS[case["family"]] in report["ops"], (case["name"], report["ops"])
        assert not [op for op in report["ops"] if "FLEX" in op.upper()], report["ops"]
        want = "int32" if case["family"] == "text" else "float32"
        assert {want in t for t in report["input_dtypes"].values()} == {True}, report
