"""Runs in the Keras 3 venv: loads savepoint's .keras files that use the everyday API's
optimizers (Adagrad ... Ftrl), losses/metrics (BinaryFocalCrossentropy, F1Score, R2Score,
MeanIoU) and constraints (MaxNorm, NonNeg); checks predictions, optimizer class and
constraints, and that training continues. Prints one JSON line per file."""

import json
import os
import sys

import numpy as np

os.environ["KERAS_BACKEND"] = "torch"


def main() -> None:
    import keras
    for spec in json.loads(sys.argv[1]):
        model = keras.models.load_model(spec["path"])
        data = np.load(spec["npz"])
        pred = np.asarray(model.predict(data["x"], verbose=0))
        dense = model.layers[0]
        out = {"path": os.path.basename(spec["path"]),
               "optimizer": type(model.optimizer).__name__,
               "pred_diff": float(np.max(np.abs(pred - data["y"]))),
               "kernel_constraint": type(dense.kernel_constraint).__name__,
               "bias_constraint": type(dense.bias_constraint).__name__,
               "loss": type(model.loss).__name__ if not isinstance(model.loss, str)
               else model.loss}
        model.fit(data["x"], data["t"], epochs=1, verbose=0)
        out["trained"] = True
        print(json.dumps(out))


if __name__ == "__main__":
    main()
