"""Regenerate tests/fixtures/goldens/optimizers/ with REAL tf-keras optimizers.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_optimizer_goldens.py``. For each case (an optimizer config) it applies 4 steps of
fixed gradients to two fixed variables (``dense/kernel`` (2, 2), ``dense/bias`` (3,)) and stores
``<case>.npz``: ``w0_*``, ``g<step>_*``, the weights after every step (``w<step>_*``) and every
optimizer variable after the last step (``opt_<i>``); ``<case>.json`` has the optimizer config,
the optimizer variable names and its checkpoint children.
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
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "optimizers")
STEPS = 4

CASES = {
    "adagrad": ("Adagrad", {}),
    "adagrad_args": ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.5,
                                     epsilon=1e-3)),
    "adadelta": ("Adadelta", dict(learning_rate=1.0)),
    "adadelta_args": ("Adadelta", dict(learning_rate=0.5, rho=0.8, epsilon=1e-4)),
    "adamax": ("Adamax", dict(learning_rate=0.01)),
    "adamax_args": ("Adamax", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.9, epsilon=1e-3)),
    "nadam": ("Nadam", dict(learning_rate=0.01)),
    "nadam_args": ("Nadam", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-4)),
    "ftrl": ("Ftrl", dict(learning_rate=0.1)),
    "ftrl_args": ("Ftrl", dict(learning_rate=0.2, learning_rate_power=-0.7,
                               initial_accumulator_value=0.3, l1_regularization_strength=0.01,
                               l2_regularization_strength=0.02,
                               l2_shrinkage_regularization_strength=0.05, beta=0.1)),
    "adagrad_wd_clip": ("Adagrad", dict(learning_rate=0.1, weight_decay=0.01, clipnorm=0.5)),
}


def main() -> None:
    rng = np.random.default_rng(11)
    w0 = {"kernel": rng.standard_normal((2, 2)).astype("float32"),
          "bias": rng.standard_normal(3).astype("float32")}
    grads = [{k: rng.standard_normal(v.shape).astype("float32") for k, v in w0.items()}
             for _ in range(STEPS)]
    os.makedirs(OUT, exist_ok=True)
    for case, (cls, kwargs) in CASES.items():
        opt = getattr(keras.optimizers, cls)(**kwargs)
        with tf.name_scope("dense"):
            variables = [tf.Variable(w0[k], name=k) for k in ("kernel", "bias")]
        out = {f"w0_{k}": v for k, v in w0.items()}
        for step in range(STEPS):
            for k in w0:
                out[f"g{step}_{k}"] = grads[step][k]
            opt.apply_gradients([(tf.constant(grads[step][k]), v)
                                 for k, v in zip(("kernel", "bias"), variables)])
            for k, v in zip(("kernel", "bias"), variables):
                out[f"w{step + 1}_{k}"] = v.numpy()
        for i, v in enumerate(opt.variables()):
            out[f"opt_{i}"] = v.numpy()
        extra = {}
        if hasattr(opt, "_u_product"):
            out["u_product"] = opt._u_product.numpy()
        children = sorted(c.name for c in opt._trackable_children().items()) \
            if False else sorted(opt._trackable_children().keys())
        meta = {"class_name": cls, "kwargs": kwargs, "config": opt.get_config(),
                "variable_names": [v.name for v in opt.variables()],
                "children": children, **extra}
        np.savez_compressed(os.path.join(OUT, f"{case}.npz"), **out)
        with open(os.path.join(OUT, f"{case}.json"), "w") as f:
            json.dump(meta, f, indent=1, default=float)
        print(case, meta["variable_names"], children)


if __name__ == "__main__":
    main()
