"""Keras 3 side of the applications interop test: ``keras.models.load_model`` on savepoint's
``.keras`` of each application, predictions compared with savepoint's; prints the max diffs.

Run by tests/interop/test_applications_interop.py in .venvs/keras3 (KERAS_BACKEND=torch).
"""

import json
import os
import sys

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"


def main(spec: dict) -> None:
    import keras
    out = {}
    for case in spec["cases"]:
        model = keras.models.load_model(case["path"])
        x = np.load(case["x"])
        y = np.load(case["y"])
        out[case["builder"]] = float(np.abs(np.asarray(model.predict(x, verbose=0)) - y).max())
    print(json.dumps(out))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
