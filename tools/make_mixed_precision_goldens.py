"""Regenerate tests/fixtures/goldens/mixed_precision/loss_scale.json with REAL tf-keras's
``LossScaleOptimizer``: SGD(0.1) wrapped with initial_scale=4, dynamic_growth_steps=2, four
``apply_gradients`` calls (the third with an inf gradient); the weight and loss scale after
each, and the policies' dtypes.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_mixed_precision_goldens.py``.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "mixed_precision", "loss_scale.json")
GRADS = [[0.5, -1.0], [0.25, 2.0], [float("inf"), 1.0], [1.0, 1.0]]


def main() -> None:
    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1),
                                                   initial_scale=4.0, dynamic_growth_steps=2)
    var = tf.Variable([1.0, 2.0])
    steps = []
    for g in GRADS:
        opt.apply_gradients([(tf.constant(g), var)])
        steps.append({"w": var.numpy().tolist(), "scale": float(opt.loss_scale.numpy())})
    scaled = float(opt.get_scaled_loss(tf.constant(3.0)).numpy())
    unscaled = [float(v) for v in opt.get_unscaled_gradients([tf.constant(8.0)])[0].numpy()
                .reshape(-1)]
    policies = {name: [keras.mixed_precision.Policy(name).compute_dtype,
                       keras.mixed_precision.Policy(name).variable_dtype]
                for name in ("mixed_float16", "mixed_bfloat16", "float32", "float64")}
    # a model tf.keras built and saved under the mixed_float16 policy
    import numpy as np
    keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(2),
                              keras.layers.Activation("softmax", dtype="float32")])
    keras.mixed_precision.set_global_policy("float32")
    x = np.random.default_rng(3).standard_normal((5, 4)).astype("float32")
    model.save(os.path.join(os.path.dirname(OUT), "mixed_model.h5"))
    np.savez(os.path.join(os.path.dirname(OUT), "mixed_model.npz"), x=x,
             y=model.predict(x, verbose=0))
    with open(OUT, "w") as f:
        json.dump({"grads": GRADS, "steps": steps, "scaled_loss_3": scaled,
                   "unscaled_8": unscaled, "policies": policies,
                   "config": {k: v for k, v in opt.get_config().items()
                              if k != "inner_optimizer"}}, f, indent=1)
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
