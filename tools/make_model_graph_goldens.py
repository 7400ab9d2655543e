"""Make the model-graph goldens in tests/fixtures/goldens/model_graph/ with REAL tf.keras 2.

Run from the repository root (the interop venv has tensorflow-cpu and tf-keras):

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_model_graph_goldens.py [case ...]

The cases live in tests/models/graph_cases.py, written once against a Keras module: this script
runs each with ``tf_keras`` and stores ``<case>.npz`` (arrays) and ``<case>.json`` (dtypes,
shapes); tests/models/test_graph_goldens.py runs the same function with savepoint and compares.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "model_graph")
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))

import graph_cases  # noqa: E402


def main(names: list[str]) -> None:
    import tensorflow as tf  # noqa: F401  (tf_keras needs it imported first)
    import tf_keras as keras
    os.makedirs(OUT, exist_ok=True)
    for name in names or sorted(graph_cases.CASES):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        arrays, meta = graph_cases.CASES[name](keras)
        np.savez(os.path.join(OUT, f"{name}.npz"),
                 **{k: np.asarray(v) for k, v in arrays.items()})
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        print(f"[make_model_graph_goldens] wrote {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
