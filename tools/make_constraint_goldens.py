"""Regenerate tests/fixtures/goldens/constraints/ with REAL tf-keras constraints.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_constraint_goldens.py``. ``values.npz`` holds each constraint applied to two fixed
weights (``<case>__w2``, ``<case>__w4``) and a Dense layer with kernel/bias constraints trained
3 SGD steps in ``fit`` (inputs, initial and final weights); ``cases.json`` the constraint configs
as tf.keras serializes them and the Dense layer's config.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "constraints")

CASES = {
    "max_norm": ("MaxNorm", {"max_value": 2.0}),
    "max_norm_axes": ("MaxNorm", {"max_value": 0.5, "axis": [0, 1]}),
    "non_neg": ("NonNeg", {}),
    "unit_norm": ("UnitNorm", {"axis": 1}),
    "min_max_norm": ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.7}),
}


def main() -> None:
    rng = np.random.default_rng(23)
    w2 = (rng.standard_normal((3, 4)) * 2).astype("float32")
    w4 = (rng.standard_normal((2, 2, 3, 4)) * 2).astype("float32")
    out = {"w2": w2, "w4": w4}
    meta = {"constraints": {}}
    for case, (cls, kwargs) in CASES.items():
        c = getattr(keras.constraints, cls)(**kwargs)
        out[f"{case}__w2"] = c(tf.constant(w2)).numpy()
        out[f"{case}__w4"] = c(tf.constant(w4)).numpy()
        meta["constraints"][case] = keras.constraints.serialize(c)
    x = rng.standard_normal((12, 4)).astype("float32")
    y = rng.standard_normal((12, 3)).astype("float32")
    layer = keras.layers.Dense(3, kernel_constraint=keras.constraints.MaxNorm(0.6),
                               bias_constraint=keras.constraints.NonNeg())
    model = keras.Sequential([keras.Input((4,)), layer])
    kernel = (rng.standard_normal((4, 3)) * 0.5).astype("float32")
    bias = np.array([0.05, -0.02, 0.01], "float32")
    model.set_weights([kernel, bias])
    model.compile(keras.optimizers.SGD(0.3), "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    out.update(x=x, y=y, kernel0=kernel, bias0=bias, kernel1=model.get_weights()[0],
               bias1=model.get_weights()[1])
    meta["dense_config"] = layer.get_config()
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "values.npz"), **out)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("wrote", len(out), "arrays")


if __name__ == "__main__":
    main()
