"""Run in the Keras 3 venv (KERAS_BACKEND=torch): Keras 3 opens savepoint's ``.keras`` of a model
with TF-op layers (written as Keras 3 operations, issue 8.6), and writes its own for savepoint.

argv[1] is JSON ``{"keras", "npz", "write"}``: load ``keras`` with ``keras.saving.load_model``,
check predictions against the npz (``x``, ``pred``), then build a model with symbolic ops
(hard_swish, slicing, reductions, concatenation, a constant first operand), save it to ``write``
and its input and predictions beside it (``write`` + ``.npz``). Exits non-zero on a mismatch.
"""

import json
import sys

import numpy as np
import keras
from keras import ops


def main() -> None:
    spec = json.loads(sys.argv[1])
    data = dict(np.load(spec["npz"]))
    model = keras.saving.load_model(spec["keras"])
    np.testing.assert_allclose(np.asarray(model.predict(data["x"], verbose=0)), data["pred"],
                               rtol=1e-5, atol=1e-6)
    keras.utils.set_random_seed(0)
    x = keras.Input((4, 6))
    h = keras.layers.Dense(6)(x)
    h = h * ops.relu6(h + 3.0) * (1.0 / 6.0)
    parts = [ops.mean(h, axis=1), h[:, -1, ::2], ops.max(2.0 - h, axis=1),
             ops.sum(ops.square(x), axis=-1), ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, 24)),
             ops.var(x // 0.7 + x % 0.7, axis=1), ops.logsumexp(ops.sin(x), axis=1),
             ops.cumsum(ops.log_softmax(x), axis=1)[:, -1], ops.tile(ops.round(x), [1, 1, 2])[:, 0]]
    out = keras.layers.Dense(2)(ops.concatenate(parts, axis=-1))
    mine = keras.Model(x, out)
    xs = np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")
    mine.save(spec["write"])
    np.savez(spec["write"] + ".npz", x=xs, pred=np.asarray(mine.predict(xs, verbose=0)))
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
