"""The demo's deployment step: the saved model exported for other runtimes (the tutorial's
closing words on TF Serving, TensorFlow Lite and TensorFlow.js), each artifact run where its
runtime is at hand.

``model.export`` writes a LiteRT (TFLite) flatbuffer, float32 and ``dynamic_int8``, a TF.js
Layers model and a ``torch.export`` program, all without TensorFlow. The torch program is
reopened by ``load_model`` and evaluated here; the ``.tflite`` files run in the real LiteRT
interpreter in its own process (``$SAVEPOINT_LITERT_PYTHON`` or the checkout's
``.venvs/litert``), which reports their accuracy; without it the step says how to enable that.

Example:
    >>> litert_python({"SAVEPOINT_LITERT_PYTHON": "/nonexistent/python"}) is None
    True
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping

import numpy as np

import savepoint as keras
from savepoint.demo.steps import DemoContext, DemoStep
from savepoint.demo.runtimes import run_check, runtime_python

LITERT_PYTHON_ENV = "SAVEPOINT_LITERT_PYTHON"
_SCRIPT = """
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
data = np.load(sys.argv[1], allow_pickle=False)
report = {}
for path in sys.argv[2:]:
    runner = Interpreter(model_path=path).get_signature_runner()
    (logits,) = runner(**{runner.get_input_details().popitem()[0]: data["x"]}).values()
    report[path] = float(np.mean(np.argmax(logits, -1) == data["y"]))
print(json.dumps(report))
"""
ARTIFACTS = (("my_model.tflite", "litert", {}),
             ("my_model_int8.tflite", "litert", {"quantize": "dynamic_int8"}),
             ("tfjs_model", "tfjs", {}),
             ("torch_model", "torch", {}))


def litert_python(environ: Mapping[str, str] = os.environ) -> str | None:
    """The Python with ``ai-edge-litert`` to run the ``.tflite`` files, or None.

    Example:
        >>> litert_python({}) is None or os.path.exists(litert_python({}))
        True
    """
    return runtime_python(LITERT_PYTHON_ENV, "litert", environ)


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def run_litert(paths: list[str], images: Any, labels: Any, python: str | None) -> dict | None:
    """Accuracy of each ``.tflite`` file in the LiteRT interpreter (None without one)."""
    if python is None:
        print(f"LiteRT check skipped: set {LITERT_PYTHON_ENV} to a Python with ai-edge-litert "
              f"to run the .tflite files.")
        return None
    with tempfile.TemporaryDirectory() as scratch:
        data = os.path.join(scratch, "test.npz")
        np.savez(data, x=np.asarray(images, np.float32), y=np.asarray(labels))
        report = run_check(python, _SCRIPT, [data, *map(os.path.abspath, paths)],
                           f"the LiteRT interpreter to run {paths}")
    return {os.path.basename(k): v for k, v in report.items()}


def step_export(ctx: DemoContext) -> None:
    """Export the saved model for LiteRT, TF.js and torch; run each where its runtime is."""
    model = keras.models.load_model("saved_model/my_model")
    for path, fmt, options in ARTIFACTS:
        model.export(path, format=fmt, **options)
        print(f"model.export({path!r}, format={fmt!r}"
              + "".join(f", {k}={v!r}" for k, v in options.items()) + f"): {_size(path):,} bytes")
    program = keras.models.load_model("torch_model")  # an InferenceModel: predict only
    logits = program.predict(ctx.test_images, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, -1) == np.asarray(ctx.test_labels)))
    print(f"Reloaded torch_model (torch.export program), accuracy: {100 * accuracy:5.2f}%")
    report = run_litert([p for p, fmt, _ in ARTIFACTS if fmt == "litert"],
                        ctx.test_images, ctx.test_labels, litert_python())
    for name, accuracy in (report or {}).items():
        print(f"LiteRT interpreter, {name}, accuracy: {100 * accuracy:5.2f}%")


EXPORT_STEPS = [DemoStep("Export for other runtimes (LiteRT, TF.js, torch)", step_export)]

__all__ = ["EXPORT_STEPS", "LITERT_PYTHON_ENV", "litert_python", "run_litert", "step_export"]
