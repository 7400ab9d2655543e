"""Regenerate tests/fixtures/goldens/backend/backend.npz with REAL tf.keras.backend.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_backend_goldens.py``. The cases (function, arguments) are in
tests/backend/backend_cases.py; the file stores the inputs (``in__<name>``) and each case's
output (``out__<case>``), plus int_shape/ndim answers.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "backend"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

import backend_cases  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "backend", "backend.npz")


def main() -> None:
    K = keras.backend
    arrays = backend_cases.inputs()
    out = {f"in__{k}": v for k, v in arrays.items()}
    for case, fn, args, kwargs in backend_cases.CASES:
        args = [backend_cases.resolve(a, arrays, tf.constant) for a in args]
        value = getattr(K, fn)(*args, **kwargs)
        out[f"out__{case}"] = np.asarray(K.get_value(value) if hasattr(value, "numpy") else value)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: {len(out)} arrays")


if __name__ == "__main__":
    main()
