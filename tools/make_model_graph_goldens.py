"""Make the model-graph and backend-ops goldens with REAL tf.keras 2.

Run from the repository root (the interop venv has tensorflow-cpu and tf-keras):

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_model_graph_goldens.py [case ...]

The cases are written once against a Keras module, in tests/models/graph_cases.py (goldens in
tests/fixtures/goldens/model_graph/) and tests/backend/backend_ops_cases.py (goldens in
.../backend_ops/): this script runs each with ``tf_keras`` and stores ``<case>.npz`` (arrays)
and ``<case>.json`` (dtypes, shapes, types); tests/models/test_graph_goldens.py and
tests/backend/test_backend_ops.py run the same functions with savepoint and compare.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(ROOT, "tests", "fixtures", "goldens")
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))
sys.path.insert(0, os.path.join(ROOT, "tests", "backend"))

import backend_ops_cases  # noqa: E402
import graph_cases  # noqa: E402

SUITES = {"model_graph": graph_cases.CASES, "backend_ops": backend_ops_cases.CASES}


def main(names: list[str]) -> None:
    import tensorflow as tf  # noqa: F401  (tf_keras needs it imported first)
    import tf_keras as keras
    for suite, cases in SUITES.items():
        out = os.path.join(GOLDENS, suite)
        os.makedirs(out, exist_ok=True)
        for name in sorted(n for n in cases if not names or n in names):
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            arrays, meta = cases[name](keras)
            np.savez(os.path.join(out, f"{name}.npz"),
                     **{k: np.asarray(v) for k, v in arrays.items()})
            with open(os.path.join(out, f"{name}.json"), "w") as f:
                json.dump(meta, f, indent=1, sort_keys=True)
            print(f"[make_model_graph_goldens] wrote {suite}/{name}")


if __name__ == "__main__":
    main(sys.argv[1:])
