"""Regenerate the TF-op layer fixtures in tests/fixtures/tfop/ with REAL tf-keras.

tf.keras 2 records arithmetic, slicing and ``tf.*`` calls on symbolic tensors as
``TFOpLambda``/``SlicingOpLambda`` layers; these models exercise the ops savepoint's whitelist
loads. Run from the repository root:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_tfop_fixtures.py

With Keras 3 (``KERAS_BACKEND=torch .venvs/keras3/bin/python tools/make_tfop_fixtures.py
--keras3``) it writes ``keras3_ops.keras``/``.npz`` instead: a model built from Keras 3's symbolic
ops (``ops.numpy.Add``, ``Mean``, ``GetItem`` ...), which savepoint reads as TF-op layers.

Each model ``<name>`` is saved as ``<name>.h5`` (whole model, tf-keras's own writer) and
``<name>.npz`` (``x0``, ``x1`` ...: the inputs, ``y0``, ``y1`` ...: the loaded tf-keras model's
outputs on them; ``gx*``/``gw*``: gradients of the weighted sum of the float outputs
w.r.t. the inputs and the trainable weights, see ``gradients``).
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tfop")


def arith(tf, k):
    """Operators and elementwise math, MobileNetV3's hard_swish, a constant on the left."""
    x = k.Input((4, 6), name="x")
    h = k.layers.Dense(6, name="dense")(x)
    hs = h * tf.nn.relu6(h + 3.0) * (1.0 / 6.0)          # hard_swish as Keras Applications
    outs = [hs, 2.0 - x, x / 3.0, -x, x ** 2, tf.abs(x), tf.exp(x * 0.1),
            tf.math.log(tf.abs(x) + 1.0), tf.sqrt(tf.abs(x)), tf.square(x), tf.sigmoid(x),
            tf.tanh(x), tf.maximum(x, 0.5), tf.minimum(x, h), tf.math.pow(tf.abs(x), 0.5),
            tf.math.subtract(x, h), tf.math.truediv(x, 2.0), tf.math.negative(x)]
    return k.Model(x, outs, name="arith")


def shapes(tf, k):
    """Reductions, shape ops and slicing."""
    x = k.Input((4, 6), name="x")
    outs = [tf.reduce_mean(x, axis=1, keepdims=True), tf.reduce_sum(x, axis=[1, 2]),
            tf.reduce_max(x, axis=-1), tf.reduce_min(x), tf.math.reduce_prod(x, axis=1),
            tf.reshape(x, (-1, 24)), tf.transpose(x, [0, 2, 1]), tf.concat([x, x * 2.0], -1),
            tf.stack([x, x], axis=1), tf.expand_dims(x, 2), tf.squeeze(x[:, :1], axis=1),
            tf.cast(x > 0.0, "float32"), tf.identity(x), tf.clip_by_value(x, -0.5, 0.5),
            tf.where(x > 0.0, x, x * 0.1), x[:, 0], x[:, 1:3, ::2], x[..., tf.newaxis, 0],
            x[:, -1, 2:], tf.shape(x)[1:] * 1]
    return k.Model(x, outs, name="shapes")


def nn(tf, k):
    """``tf.nn`` activations, ``image.resize``, matmul/einsum, two inputs."""
    x = k.Input((4, 6), name="x")
    img = k.Input((3, 3, 2), name="img")
    outs = [tf.nn.relu(x), tf.nn.relu6(x * 4.0), tf.nn.softmax(x, axis=-1), tf.nn.sigmoid(x),
            tf.nn.gelu(x), tf.nn.gelu(x, approximate=True), tf.nn.swish(x), tf.nn.silu(x),
            tf.nn.leaky_relu(x, alpha=0.3), tf.image.resize(img, (6, 6)),
            tf.image.resize(img, (5, 5), method="nearest"), tf.matmul(x, x, transpose_b=True),
            x @ tf.ones((6, 3))]  # tf.einsum: tf-keras cannot reload its own .h5 of it
    return k.Model([x, img], outs, name="nn")


def weighting(tf, shape):
    """A fixed, uneven weighting of an output (so softmax's gradient is not zero)."""
    n = int(np.prod(shape)) if len(shape) else 1
    return tf.reshape(tf.sin(tf.range(n, dtype=tf.float32)), shape)


def gradients(tf, model, inputs):
    """``gx<i>``/``gw<j>``: gradients of sum(output * weighting) over the float outputs, w.r.t.
    the inputs and the trainable weights."""
    xs = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        outs = model(xs if len(xs) > 1 else xs[0])
        loss = tf.add_n([tf.reduce_sum(o * weighting(tf, tuple(o.shape))) for o in outs
                         if o.dtype == tf.float32])
    grads = tape.gradient(loss, xs + model.trainable_weights)
    zeros = [np.zeros(v.shape, "float32") for v in xs + model.trainable_weights]
    grads = [z if g is None else g.numpy() for g, z in zip(grads, zeros)]
    out = {f"gx{i}": g for i, g in enumerate(grads[:len(xs)])}
    out.update({f"gw{i}": g for i, g in enumerate(grads[len(xs):])})
    return out


def more(tf, k):
    """Rounding, trigonometry, statistics, tile/pad/gather/one_hot and more activations."""
    x = k.Input((4, 6), name="x")
    ids = k.Input((3,), name="ids", dtype="int32")
    outs = [x // 0.7, x % 0.7, tf.sin(x), tf.cos(x), tf.floor(x), tf.round(x * 2.0),
            tf.sign(x), tf.math.erf(x), tf.math.reciprocal(x + 5.0), tf.math.rsqrt(x + 5.0),
            tf.math.reduce_std(x, axis=1), tf.math.reduce_variance(x, axis=-1, keepdims=True),
            tf.math.reduce_logsumexp(x, axis=1), tf.math.cumsum(x, axis=1),
            tf.cast(tf.argmax(x, axis=-1), "float32"), tf.tile(x, [1, 2, 1]), tf.ones_like(x),
            tf.zeros_like(x), tf.pad(x, [[0, 0], [1, 0], [0, 2]]), tf.gather(x, [0, 2], axis=2),
            tf.one_hot(ids, 4), tf.nn.log_softmax(x), tf.nn.selu(x), tf.math.log_sigmoid(x),
            k.backend.batch_flatten(x), tf.nn.softplus(x), tf.math.softsign(x)]
    return k.Model([x, ids], outs, name="more")


def main() -> None:
    import tensorflow as tf
    import tf_keras as k
    os.makedirs(OUT, exist_ok=True)
    for build in (arith, shapes, nn, more):
        tf.keras.utils.set_random_seed(0)
        k.backend.clear_session()
        model = build(tf, k)
        rng = np.random.default_rng(0)
        inputs = [rng.normal(size=(2,) + tuple(t.shape[1:])).astype("float32")
                  if t.dtype == tf.float32 else np.array([[0, 3, 1], [2, -1, 5]], "int32")
                  for t in model.inputs]
        path = os.path.join(OUT, f"{model.name}.h5")
        model.save(path)
        # called, not predict(): scalar outputs (tf.reduce_min with no axis) keep their dtype
        preds = k.models.load_model(path)(inputs if len(inputs) > 1 else inputs[0])
        arrays = {f"x{i}": a for i, a in enumerate(inputs)}
        arrays.update({f"y{i}": p.numpy() for i, p in enumerate(preds)})
        arrays.update(gradients(tf, k.models.load_model(path), inputs))
        np.savez(os.path.join(OUT, f"{model.name}.npz"), **arrays)
        print(model.name, sorted({l.get_config().get("function", "") for l in model.layers}))


def keras3_main() -> None:
    """The Keras 3 fixture: symbolic ops as Keras 3 records them."""
    import keras
    from keras import ops
    keras.utils.set_random_seed(0)
    x = keras.Input((4, 6), name="x")
    h = keras.layers.Dense(6, name="dense")(x)
    h = h * ops.relu6(h + 3.0) * (1.0 / 6.0)
    outs = [h, 2.0 - x, x / 3.0, -x, x ** 2, ops.abs(x), ops.exp(x * 0.1), ops.sqrt(ops.abs(x)),
            ops.maximum(x, 0.5), ops.mean(h, axis=1, keepdims=True), ops.sum(x, axis=[1, 2]),
            ops.max(x, axis=-1), ops.reshape(x, (-1, 24)), ops.transpose(x, (0, 2, 1)),
            ops.concatenate([x, h], axis=-1), ops.stack([x, x], axis=1), ops.expand_dims(x, 2),
            ops.squeeze(x[:, :1], axis=1), ops.clip(x, -0.5, 0.5), ops.where(x > 0, x, x * 0.1),
            x[:, 0], x[:, 1:3, ::2], x[..., None, 0], ops.softmax(x, axis=-1),
            ops.gelu(x, approximate=False), ops.silu(x), ops.leaky_relu(x, 0.3), ops.sigmoid(x),
            ops.tanh(x), ops.cast(x > 0, "float32"), ops.matmul(x, ops.ones((6, 2))),
            x * np.linspace(-1.0, 1.0, 6).astype("float32")]  # __tensor__ / __numpy__ constants
    model = keras.Model(x, outs, name="keras3_ops")
    xs = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    model.save(os.path.join(OUT, "keras3_ops.keras"))
    loaded = keras.saving.load_model(os.path.join(OUT, "keras3_ops.keras"))
    arrays = {"x0": xs}
    arrays.update({f"y{i}": np.asarray(keras.ops.convert_to_numpy(p))
                   for i, p in enumerate(loaded(xs))})
    np.savez(os.path.join(OUT, "keras3_ops.npz"), **arrays)


if __name__ == "__main__":
    import sys
    keras3_main() if "--keras3" in sys.argv else main()
