"""Run by tests/interop/test_conv_interop.py in the tf-keras or the Keras 3 venv.

Usage: python conv_check.py '{"side": "tf_keras"|"keras3", "cases": [...]}', each case
``{"name", "model", "x", "y"}``: loads savepoint's saved model (``.h5`` for tf-keras, ``.keras``
for Keras 3), predicts ``x`` (an ``.npy``) and compares with savepoint's prediction ``y`` (an
``.npy``), then saves the loaded model back in its own format beside it (``<model>.back.h5`` /
``.back.keras``) with its prediction (``<model>.back.npy``) for savepoint to load.
Prints one JSON line per case; exits 1 on the first mismatch.
"""

import json
import os
import sys

import numpy as np


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["side"] == "tf_keras":
        import tf_keras as k
        suffix = ".back.h5"
    else:
        os.environ["KERAS_BACKEND"] = "torch"
        import keras as k
        suffix = ".back.keras"
    for case in spec["cases"]:
        model = k.models.load_model(case["model"], compile=False)
        x, y = np.load(case["x"]), np.load(case["y"])
        pred = np.asarray(model.predict(x, verbose=0))
        diff = float(np.max(np.abs(pred - y)))
        if not np.allclose(pred, y, rtol=1e-5, atol=1e-5):
            print(f"MISMATCH: {case['name']}: max abs difference {diff}")
            sys.exit(1)
        back = case["model"] + suffix
        model.save(back)
        np.save(case["model"] + ".back.npy", pred)
        print(json.dumps({"name": case["name"], "max_abs_diff": diff,
                          "layers": [type(l).__name__ for l in model.layers], "back": back}))


if __name__ == "__main__":
    main()
