"""The demo's proof that TensorFlow itself opens the SavedModel ``model.save(dir)`` wrote, where a
Python with TensorFlow is at hand (``$SAVEPOINT_TF_PYTHON``, or the checkout's ``.venvs/tf``).

TensorFlow runs in its own process (it cannot share savepoint's): ``tf.keras.models.load_model``
evaluates the test digits, and ``tf.saved_model.load(...).signatures["serving_default"]``
predicts them. Without TensorFlow the step says how to enable the check and goes on.

Example:
    >>> tf_python({"SAVEPOINT_TF_PYTHON": "/nonexistent/python"}) is None
    True
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping

import numpy as np

from savepoint.demo.runtimes import run_check, runtime_python

TF_PYTHON_ENV = "SAVEPOINT_TF_PYTHON"
_SCRIPT = """
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
path, data = sys.argv[1], np.load(sys.argv[2], allow_pickle=False)
model = tf.keras.models.load_model(path)
_, accuracy = model.evaluate(data["x"], data["y"], verbose=0)
serve = tf.saved_model.load(path).signatures["serving_default"]
(out,) = serve(**{next(iter(serve.structured_input_signature[1])): tf.constant(data["x"])}).values()
print(json.dumps({"version": tf.__version__, "accuracy": float(accuracy),
                  "shape": list(out.shape)}))
"""


def tf_python(environ: Mapping[str, str] = os.environ) -> str | None:
    """The Python with TensorFlow to check with, or None when there is none.

    Example:
        >>> tf_python({}) is None or os.path.exists(tf_python({}))
        True
    """
    return runtime_python(TF_PYTHON_ENV, "tf", environ)


def check_with_tensorflow(path: str, images: Any, labels: Any, python: str | None) -> dict | None:
    """Open the SavedModel at ``path`` with real TensorFlow; print and return what it reports
    (``None``, after saying how to enable the check, without a TensorFlow Python).

    Example:
        >>> check_with_tensorflow("m", np.zeros((1, 784)), np.zeros(1), None)
        TensorFlow check skipped: set SAVEPOINT_TF_PYTHON to a Python with tensorflow (and tf-keras) to see TF open the SavedModel.
    """
    if python is None:
        print(f"TensorFlow check skipped: set {TF_PYTHON_ENV} to a Python with tensorflow (and "
              f"tf-keras) to see TF open the SavedModel.")
        return None
    with tempfile.TemporaryDirectory() as scratch:
        data = os.path.join(scratch, "test.npz")
        np.savez(data, x=np.asarray(images, np.float32), y=np.asarray(labels))
        report = run_check(python, _SCRIPT, [os.path.abspath(path), data],
                           f"TensorFlow to open the SavedModel at {path!r}")
    print(f"TensorFlow {report['version']} opened {path}: tf.keras.models.load_model accuracy "
          f"{100 * report['accuracy']:5.2f}%, tf.saved_model.load serving_default output shape "
          f"{tuple(report['shape'])}")
    return report


__all__ = ["TF_PYTHON_ENV", "check_with_tensorflow", "tf_python"]
