"""Run by tests/interop/test_sweep_interop.py in the TF venv: tf.keras loads savepoint's .h5
whose layers carry activity regularizers and constraints, and prints its ``model.losses`` and
``evaluate`` loss as JSON.

Usage: python tf_check_activity.py '{"h5": path, "x": [...], "y": [...]}'
"""

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402
from tensorflow import keras  # noqa: E402

spec = json.loads(sys.argv[1])
model = keras.models.load_model(spec["h5"])
x, y = np.asarray(spec["x"], "float32"), np.asarray(spec["y"], "float32")
model(x)
print(json.dumps({"losses": [float(v) for v in model.losses],
                  "evaluate": float(model.evaluate(x, y, batch_size=len(x), verbose=0)),
                  "constraints": [type(layer.gamma_constraint).__name__ for layer in model.layers
                                  if hasattr(layer, "gamma_constraint")]}))
