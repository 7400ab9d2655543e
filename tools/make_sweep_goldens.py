"""Goldens for the silent-results sweep (issue 8): Keras 3's own activation numbers and
tf-keras's activity-regularization losses.

Run ``python tools/make_sweep_goldens.py`` (it runs itself in ``.venvs/keras3`` and ``.venvs/tf``),
or one side: ``.venvs/keras3/bin/python tools/make_sweep_goldens.py keras3`` /
``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_sweep_goldens.py tf_keras``.

Writes ``tests/fixtures/goldens/sweep/``:
- ``keras3_activations.keras`` + ``keras3_activations.npz`` (``x``, ``y``): a model Keras 3 saved
  whose Dense/Activation/LSTM use ``hard_sigmoid``, ``hard_silu`` and ``hard_swish``, which
  Keras 3 defines differently from (or in addition to) tf.keras 2;
- ``keras3_lstm_hard_sigmoid.npz``: Keras 3's LSTM with ``recurrent_activation="hard_sigmoid"``
  on the input and weights of ``rnn.npz``'s ``lstm_activations`` case: ``y0`` and the gradients
  of ``sum(y0 * r0)`` (``dx``, ``dw0``...);
- ``keras3_activation_values.npz``: every Keras 3 activation name evaluated by Keras 3 on ``x``;
- ``activity.json`` + ``activity.npz``: tf-keras models with ``activity_regularizer`` on Dense,
  Activation, Embedding and LSTM, and BatchNormalization/LayerNormalization beta/gamma
  constraints: the model JSON, weights, ``model.losses`` after a call, the
  ``evaluate`` loss, the ``train_on_batch`` loss and the weights after that SGD step; and
  ``initial_weights/*``: a model whose Embedding/LSTM/Dense got ``weights=[...]`` and its
  predictions.

Example:
    >>> CASES_ACTIVITY[0][0]
    'dense_activation'
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "sweep")
RNN = os.path.join(ROOT, "tests", "fixtures", "goldens", "rnn", "rnn.npz")

# (case, layer list (class name, kwargs), input shape, integer inputs?)
CASES_ACTIVITY = [
    ("dense_activation", [("Dense", {"units": 4, "activity_regularizer": {"l2": 0.1}}),
                          ("Activation", {"activation": "tanh",
                                          "activity_regularizer": {"l1": 0.05}}),
                          ("Dense", {"units": 2, "activity_regularizer": {"l1": 0.01,
                                                                          "l2": 0.02}})],
     (3,), False),
    ("embedding_lstm", [("Embedding", {"input_dim": 7, "output_dim": 3,
                                       "activity_regularizer": {"l2": 0.3}}),
                        ("LSTM", {"units": 2, "activity_regularizer": {"l1": 0.2}}),
                        ("Dense", {"units": 2})], (4,), True),
    # constraints that BatchNormalization/LayerNormalization once accepted and ignored; a large
    # SGD step (lr 1.0 in the tool) so that every constraint clips something
    ("norm_constraints", [("Dense", {"units": 4}),
                          ("BatchNormalization", {"beta_constraint": ["NonNeg", {}],
                                                  "gamma_constraint": ["MaxNorm",
                                                                       {"max_value": 0.5}]}),
                          ("LayerNormalization", {"gamma_constraint": ["NonNeg", {}],
                                                  "beta_constraint": ["MinMaxNorm", {
                                                      "min_value": 0.1, "max_value": 0.3}]}),
                          ("Dense", {"units": 2})], (3,), False),
]


# Keras 3.15's activation names (sparsemax and threshold aside, which savepoint lacks)
KERAS3_ACTIVATIONS = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "squareplus", "swish", "tanh", "tanh_shrink"]


def _regularizer(k, spec):
    return k.regularizers.L1L2(l1=spec.get("l1", 0.0), l2=spec.get("l2", 0.0))


def layer_kwargs(k, kwargs: dict) -> dict:
    """A case's kwargs with its regularizer/constraint specs built with module ``k`` (tf.keras
    here, savepoint in the tests)."""
    kwargs = dict(kwargs)
    for key, value in kwargs.items():
        if key == "activity_regularizer":
            kwargs[key] = _regularizer(k, value)
        elif key.endswith("_constraint"):
            kwargs[key] = getattr(k.constraints, value[0])(**value[1])
    return kwargs


def lr_of(case: str) -> float:
    """The SGD learning rate of a case."""
    return 1.0 if case == "norm_constraints" else 0.1


def _tf_keras_side() -> None:
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras as k

    arrays, meta = {}, {}
    for case, layers, shape, ints in CASES_ACTIVITY:
        tf.random.set_seed(0)
        rng = np.random.default_rng(8000)
        built = []
        for cls, kwargs in layers:
            built.append(getattr(k.layers, cls)(**layer_kwargs(k, kwargs)))
        model = k.Sequential([k.Input(shape, dtype="int32" if ints else "float32")] + built)
        model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32")
                           for w in model.weights])
        x = (rng.integers(0, 7, (5,) + shape).astype("int32") if ints
             else rng.standard_normal((5,) + shape).astype("float32"))
        y = rng.standard_normal((5, 2)).astype("float32")
        model(x)
        arrays[f"{case}/x"], arrays[f"{case}/y"] = x, y
        for i, w in enumerate(model.get_weights()):
            arrays[f"{case}/w{i}"] = w
        arrays[f"{case}/losses"] = np.array([float(v) for v in model.losses], "float32")
        model.compile(optimizer=k.optimizers.SGD(lr_of(case)), loss="mse")
        arrays[f"{case}/evaluate"] = np.float32(model.evaluate(x, y, batch_size=5, verbose=0))
        arrays[f"{case}/train"] = np.float32(model.train_on_batch(x, y))
        for i, w in enumerate(model.get_weights()):
            arrays[f"{case}/after{i}"] = w
        meta[case] = {"model_json": json.loads(model.to_json())}
    # ``weights=[...]`` at construction (the pretrained-embedding idiom): no set_weights after
    rng = np.random.default_rng(8002)
    emb = rng.standard_normal((6, 3)).astype("float32")
    kernel, bias = rng.standard_normal((8, 2)).astype("float32"), np.float32([0.5, -0.5])
    w = [rng.standard_normal(s).astype("float32") for s in ((3, 8), (2, 8), (8,))]
    model = k.Sequential([k.layers.Embedding(6, 3, weights=[emb], input_length=4),
                          k.layers.LSTM(2, weights=w, return_sequences=True),
                          k.layers.Flatten(), k.layers.Dense(2, weights=[kernel, bias])])
    x = rng.integers(0, 6, (3, 4)).astype("int32")
    arrays.update({"initial_weights/x": x, "initial_weights/emb": emb,
                   "initial_weights/kernel": kernel, "initial_weights/bias": bias,
                   "initial_weights/y": model.predict(x, verbose=0)})
    arrays.update({f"initial_weights/lstm{i}": v for i, v in enumerate(w)})
    np.savez_compressed(os.path.join(OUT, "activity.npz"), **arrays)
    with open(os.path.join(OUT, "activity.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def _keras3_side() -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras as k
    import torch

    rng = np.random.default_rng(8001)
    inp = k.Input((4, 3))
    seq = k.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True,
                        name="lstm")(inp)
    x = k.layers.Flatten()(seq)
    x = k.layers.Dense(6, activation="hard_sigmoid", name="d_hs")(x)
    x = k.layers.Dense(6, activation="hard_silu", name="d_hsilu")(x)
    x = k.layers.Activation("hard_swish", name="a_hswish")(x)
    out = k.layers.Dense(3, activation="hard_sigmoid", name="d_out")(x)
    model = k.Model(inp, out)
    model.set_weights([rng.uniform(-1.5, 1.5, w.shape).astype("float32") for w in model.weights])
    xs = (2.0 * rng.standard_normal((6, 4, 3))).astype("float32")
    model.save(os.path.join(OUT, "keras3_activations.keras"))
    np.savez_compressed(os.path.join(OUT, "keras3_activations.npz"), x=xs,
                        y=np.asarray(model.predict(xs, verbose=0)))

    # every activation Keras 3 names, on one input (glu halves the last axis of 6)
    xa = np.linspace(-4.0, 4.0, 36).astype("float32").reshape(6, 6)
    acts = {"x": xa}
    for name in KERAS3_ACTIVATIONS:
        acts[name] = np.asarray(k.ops.convert_to_numpy(k.activations.get(name)(
            k.ops.convert_to_tensor(xa))))
    np.savez_compressed(os.path.join(OUT, "keras3_activation_values.npz"), **acts)

    rnn = np.load(RNN)
    case = "lstm_activations"
    layer = k.layers.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid",
                          return_sequences=True)
    layer.build((None,) + rnn[f"{case}/x"].shape[1:])
    layer.set_weights([rnn[f"{case}/w{i}"] for i in range(3)])
    xt = torch.tensor(rnn[f"{case}/x"], requires_grad=True)
    y = layer(xt)
    (y * torch.from_numpy(rnn[f"{case}/r0"])).sum().backward()
    arrays = {"x": rnn[f"{case}/x"], "r0": rnn[f"{case}/r0"],
              "y0": y.detach().numpy(), "dx": xt.grad.numpy()}
    for i, w in enumerate(layer.weights):
        arrays[f"w{i}"] = rnn[f"{case}/w{i}"]
        arrays[f"dw{i}"] = w.value.grad.numpy()
    np.savez_compressed(os.path.join(OUT, "keras3_lstm_hard_sigmoid.npz"), **arrays)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["tf_keras"]:
        _tf_keras_side()
    elif sys.argv[1:] == ["keras3"]:
        _keras3_side()
    else:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1",
                   KERAS_BACKEND="torch")
        for venv, side in (("tf", "tf_keras"), ("keras3", "keras3")):
            subprocess.run([os.path.join(ROOT, ".venvs", venv, "bin", "python"),
                            os.path.abspath(__file__), side], check=True, env=env)


if __name__ == "__main__":
    main()
