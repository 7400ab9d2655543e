"""Regenerate the golden fixtures of the activation, merging, reshaping, normalization and
regularization layers (and of ``keras.activations``) with REAL tf-keras 2.

Run from the repository root:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_activation_goldens.py

Each case builds one tf-keras layer from a config with fixed weights, calls it on fixed inputs
(inference mode) and writes ``tests/fixtures/goldens/<family>/<case>.json`` (the layer's
``class_name``, ``get_config()``, the call style and keyword arguments) and ``<case>.npz``:
``x0``.. (inputs), ``w0``.. (``get_weights()`` order), ``y0``.. (outputs), ``c0``.. (a fixed
random cotangent per output), and the gradients of ``sum(y * c)``: ``gx0``.. w.r.t. the inputs
and ``gw0``.. w.r.t. the trainable weights. ``tools/make_attention_goldens.py`` reuses ``write``.
"""

from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens")


def _jsonable(value):
    if isinstance(value, (tf.TensorShape,)):
        return value.as_list()
    if isinstance(value, (np.floating, np.integer, np.ndarray)):
        return value.tolist()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def write(family: str, case: str, layer, inputs: list, style: str = "single",
          kwargs: dict | None = None, array_kwargs: dict | None = None, seed: int = 0,
          weights: list | None = None, meta: dict | None = None) -> None:
    """Run ``layer`` on ``inputs`` with tf-keras and store the golden case.

    ``style``: ``single`` (``layer(x)``), ``list`` (``layer([x0, x1..])``) or ``mha``
    (``layer(x0, x1[, key=x2])``); ``array_kwargs`` are tensors passed by keyword (stored as
    ``k_<name>`` in the npz, e.g. an attention mask).
    """
    rng = np.random.default_rng(seed)
    kwargs, array_kwargs = dict(kwargs or {}), dict(array_kwargs or {})
    xs = [tf.Variable(x) for x in inputs]
    def const(v):  # a list of masks (Attention's mask=[q_mask, v_mask]) may hold None
        if isinstance(v, list):
            return [None if m is None else tf.constant(m) for m in v]
        return tf.constant(v)
    call_kwargs = {**kwargs, **{k: const(v) for k, v in array_kwargs.items()}}

    def run():
        ts = [tf.identity(x) for x in xs]  # tensors, not variables (layers may add in place)
        if style == "single":
            return layer(ts[0], training=False, **call_kwargs)
        if style == "list":
            return layer(ts, training=False, **call_kwargs)
        extra = {"key": ts[2]} if len(ts) > 2 else {}
        return layer(ts[0], ts[1], training=False, **extra, **call_kwargs)
    run()  # build
    if weights is None:
        weights = [rng.standard_normal(w.shape).astype("float32") * 0.5 for w in layer.weights]
    layer.set_weights(weights)
    with tf.GradientTape(persistent=True) as tape:
        out = run()
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        cots = [rng.standard_normal(o.shape).astype("float32") for o in outs]
        loss = tf.add_n([tf.reduce_sum(o * c) for o, c in zip(outs, cots)])
    arrays = {f"x{i}": np.asarray(x) for i, x in enumerate(inputs)}
    arrays.update({f"w{i}": w.numpy() for i, w in enumerate(layer.weights)})
    arrays.update({f"y{i}": o.numpy() for i, o in enumerate(outs)})
    arrays.update({f"c{i}": c for i, c in enumerate(cots)})
    for k, v in array_kwargs.items():
        if isinstance(v, list):  # stored as k_<name>_<i>; a missing index means None
            arrays.update({f"k_{k}_{i}": np.asarray(m) for i, m in enumerate(v) if m is not None})
        else:
            arrays[f"k_{k}"] = np.asarray(v)
    for i, g in enumerate(tape.gradient(loss, xs)):
        if g is not None:
            arrays[f"gx{i}"] = tf.convert_to_tensor(g).numpy()
    grads = tape.gradient(loss, layer.trainable_weights)
    for i, g in enumerate(grads):
        arrays[f"gw{i}"] = tf.convert_to_tensor(g).numpy()
    folder = os.path.join(OUT, family)
    os.makedirs(folder, exist_ok=True)
    np.savez_compressed(os.path.join(folder, f"{case}.npz"), **arrays)
    config = None if isinstance(layer, keras.layers.Lambda) else _jsonable(layer.get_config())
    meta = {"class_name": type(layer).__name__, "config": config,
            "style": style, "kwargs": kwargs,
            "array_kwargs": {k: len(v) if isinstance(v, list) else None
                             for k, v in array_kwargs.items()},
            "weight_names": [w.name for w in layer.weights],
            "trainable_weight_names": [w.name for w in layer.trainable_weights],
            "tf_keras": keras.__version__, **(meta or {})}
    with open(os.path.join(folder, f"{case}.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def normal(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype("float32")


# A float grid with no value exactly at a kink (0, thresholds, 6), so gradients are defined.
GRID = (np.linspace(-7.3, 7.1, 48, dtype="float32").reshape(4, 12) + 0.013)


def activation_functions() -> None:
    L = keras.layers
    names = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "gelu",
             "softplus", "softsign", "swish", "silu", "relu6", "leaky_relu", "mish",
             "hard_sigmoid", "exponential", "linear"]
    for name in names:
        x = GRID if name != "exponential" else GRID / 3
        write("activation", f"fn_{name}", L.Activation(name), [x], meta={"function": name})
    # keras.activations functions with arguments: the json names the function and its kwargs.
    for case, (fn, fn_kwargs) in {
            "relu_args": ("relu", {"alpha": 0.1, "max_value": 5.0, "threshold": 0.5}),
            "relu_alpha": ("relu", {"alpha": 0.3}), "relu_max6": ("relu", {"max_value": 6.0}),
            "relu_max3": ("relu", {"max_value": 3.0}),
            "relu_threshold": ("relu", {"threshold": 1.0}),
            "relu_alpha_threshold": ("relu", {"alpha": 0.2, "threshold": 0.4}),
            "gelu_approx": ("gelu", {"approximate": True}), "elu_alpha": ("elu", {"alpha": 0.5}),
            "softmax_axis": ("softmax", {"axis": 1}),
            "log_softmax_axis": ("log_softmax", {"axis": 1})}.items():
        x = GRID.reshape(2, 4, 6) if "softmax" in case else GRID
        function = getattr(keras.activations, fn) if fn != "log_softmax" else \
            keras.activations.get("log_softmax")
        write("activation", f"fn_{case}",
              L.Lambda(lambda t, f=function, kw=fn_kwargs: f(t, **kw)), [x],
              meta={"function": fn, "function_kwargs": fn_kwargs})


def activation_layers() -> None:
    L = keras.layers
    write("activation", "relu", L.ReLU(), [GRID])
    write("activation", "relu_args", L.ReLU(max_value=4.0, negative_slope=0.2, threshold=0.7),
          [GRID])
    write("activation", "relu_max6", L.ReLU(max_value=6.0), [GRID])
    write("activation", "leaky_relu", L.LeakyReLU(alpha=0.1), [GRID])
    write("activation", "leaky_relu_default", L.LeakyReLU(), [GRID])
    write("activation", "prelu", L.PReLU(), [GRID.reshape(4, 3, 4)], seed=1)
    write("activation", "prelu_shared", L.PReLU(shared_axes=[1, 2]),
          [GRID.reshape(2, 3, 2, 4)], seed=2)
    write("activation", "elu", L.ELU(alpha=0.7), [GRID])
    write("activation", "softmax", L.Softmax(), [GRID])
    write("activation", "softmax_axes", L.Softmax(axis=[1, 2]), [GRID.reshape(2, 4, 6)])
    write("activation", "softmax_mask", L.Softmax(axis=-1), [GRID],
          array_kwargs={"mask": (normal(3, 4, 12) > 0)})
    write("activation", "thresholded_relu", L.ThresholdedReLU(theta=0.9), [GRID])


def merging() -> None:
    L = keras.layers
    a, b, c = normal(1, 3, 4, 5), normal(2, 3, 4, 5), normal(3, 3, 4, 5)
    for cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        ins = [a, b] if cls == "Subtract" else [a, b, c]
        write("merging", cls.lower(), getattr(L, cls)(), ins, style="list")
    write("merging", "multiply_broadcast", L.Multiply(), [a, normal(4, 3, 1, 5)], style="list")
    write("merging", "concatenate_axis1", L.Concatenate(axis=1), [a, normal(5, 3, 2, 5)],
          style="list")
    write("merging", "dot_2d", L.Dot(axes=1), [normal(1, 4, 6), normal(2, 4, 6)], style="list")
    write("merging", "dot_3d", L.Dot(axes=(2, 2)), [a, normal(6, 3, 7, 5)], style="list")
    write("merging", "dot_cross_axes", L.Dot(axes=(1, 2)), [a, normal(7, 3, 6, 4)],
          style="list")
    write("merging", "dot_normalize", L.Dot(axes=-1, normalize=True), [a, b], style="list")
    write("merging", "dot_negative", L.Dot(axes=[-1, -2]), [normal(8, 3, 4, 5),
                                                            normal(9, 3, 5, 2)], style="list")


def reshaping_normalization_regularization() -> None:
    L = keras.layers
    x = normal(1, 3, 4, 5)
    write("reshaping", "permute", L.Permute((2, 1)), [x])
    write("reshaping", "permute_4d", L.Permute((3, 1, 2)), [normal(2, 2, 3, 4, 5)])
    write("reshaping", "repeat_vector", L.RepeatVector(3), [normal(3, 4, 6)])
    write("normalization", "group_norm", L.GroupNormalization(groups=2), [normal(4, 3, 5, 6)],
          seed=1)
    write("normalization", "group_norm_4d", L.GroupNormalization(groups=3, epsilon=1e-5),
          [normal(5, 2, 3, 4, 6, scale=2.0)], seed=2)
    write("normalization", "group_norm_axis1", L.GroupNormalization(groups=2, axis=1,
                                                                     center=False),
          [normal(6, 2, 4, 5)], seed=3)
    write("normalization", "instance_norm", L.GroupNormalization(groups=-1, scale=False),
          [normal(7, 2, 5, 3)], seed=4)
    write("normalization", "unit_norm", L.UnitNormalization(), [x])
    write("normalization", "unit_norm_axes", L.UnitNormalization(axis=[1, 2]), [x])
    for name, layer in {"spatial_dropout1d": L.SpatialDropout1D(0.3),
                        "spatial_dropout2d": L.SpatialDropout2D(0.3),
                        "spatial_dropout3d": L.SpatialDropout3D(0.3),
                        "gaussian_noise": L.GaussianNoise(0.2),
                        "gaussian_dropout": L.GaussianDropout(0.2),
                        "alpha_dropout": L.AlphaDropout(0.2),
                        "activity_regularization": L.ActivityRegularization(l1=0.1, l2=0.01)
                        }.items():
        rank = {"spatial_dropout2d": 4, "spatial_dropout3d": 5}.get(name, 3)
        write("regularization", name, layer, [normal(8, *([2, 3, 4, 5, 3][:rank]))])


def main() -> None:
    keras.utils.set_random_seed(7)
    for family in ("activation", "merging", "reshaping", "normalization", "regularization"):
        shutil.rmtree(os.path.join(OUT, family), ignore_errors=True)
    activation_functions()
    activation_layers()
    merging()
    reshaping_normalization_regularization()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
