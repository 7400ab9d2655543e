"""The keras.backend model-function and layer-op cases (``K.function``, ``K.gradients``,
``K.conv1d``/``conv2d``/``pool2d``, ``K.rnn``), written once for both sides: each ``case_*``
takes a Keras module (``tf_keras`` in tools/make_model_graph_goldens.py, ``savepoint`` in
test_backend_ops.py) and returns ``(arrays, meta)``. Plain numpy only at import time.

Example:
    >>> sorted(CASES)[:2]
    ['conv1d', 'conv2d']
"""

from __future__ import annotations

import numpy as np


def _rng():
    return np.random.default_rng(21)


def _np(x):
    return np.asarray(x)


def case_conv1d(keras):
    K = keras.backend
    rng = _rng()
    x = K.constant(rng.standard_normal((2, 9, 3)).astype("float32"))
    k = K.constant(rng.standard_normal((4, 3, 5)).astype("float32"))
    out = {"valid": K.conv1d(x, k), "same_s2": K.conv1d(x, k, strides=2, padding="same"),
           "causal_d2": K.conv1d(x, k, padding="causal", dilation_rate=2),
           "same_d2": K.conv1d(x, k, padding="same", dilation_rate=2)}
    return {k: _np(v) for k, v in out.items()}, {}


def case_conv2d(keras):
    K = keras.backend
    rng = _rng()
    x = K.constant(rng.standard_normal((2, 7, 8, 3)).astype("float32"))
    k = K.constant(rng.standard_normal((2, 3, 3, 4)).astype("float32"))
    out = {"valid": K.conv2d(x, k), "same_s2": K.conv2d(x, k, strides=(2, 2), padding="same"),
           "same_d2": K.conv2d(x, k, padding="same", dilation_rate=(2, 2)),
           "valid_s21": K.conv2d(x, k, strides=(2, 1))}
    return {k: _np(v) for k, v in out.items()}, {}


def case_pool2d(keras):
    K = keras.backend
    x = K.constant(_rng().standard_normal((2, 7, 6, 3)).astype("float32"))
    out = {}
    for mode in ("max", "avg"):
        out[f"{mode}_default"] = K.pool2d(x, (2, 2), pool_mode=mode)
        out[f"{mode}_same_s2"] = K.pool2d(x, (3, 3), strides=(2, 2), padding="same",
                                          pool_mode=mode)
        out[f"{mode}_valid_s2"] = K.pool2d(x, (2, 3), strides=(2, 2), pool_mode=mode)
    return {k: _np(v) for k, v in out.items()}, {}


def _simple_step(K, w, u):
    def step(x_t, states):
        h = K.tanh(K.dot(x_t, w) + K.dot(states[0], u))
        return h, [h]
    return step


def _lstm_like_step(K, w, u):
    """Two states and a constant: ``h' = tanh(x w + h u + c)``, ``s' = s + h'``."""
    def step(x_t, states):
        h, s, c = states
        h = K.tanh(K.dot(x_t, w) + K.dot(h, u) + c)
        return h, [h, s + h]
    return step


def case_rnn(keras):
    K = keras.backend
    rng = _rng()
    xs = rng.standard_normal((3, 5, 2)).astype("float32")
    x = K.constant(xs)
    w = K.constant(rng.standard_normal((2, 4)).astype("float32") * 0.5)
    u = K.constant(rng.standard_normal((4, 4)).astype("float32") * 0.5)
    h0 = K.constant(rng.standard_normal((3, 4)).astype("float32"))
    c = K.constant(rng.standard_normal((3, 4)).astype("float32"))
    mask = K.constant(np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool),
                      dtype="bool")
    step = _simple_step(K, w, u)
    runs = {
        "plain": K.rnn(step, x, [h0]),
        "masked": K.rnn(step, x, [h0], mask=mask),
        "masked_zero": K.rnn(step, x, [h0], mask=mask, zero_output_for_mask=True),
        "backwards_masked": K.rnn(step, x, [h0], go_backwards=True, mask=mask),
        "time_major": K.rnn(step, K.constant(np.transpose(xs, (1, 0, 2))), [h0],
                            time_major=True),
        "last_only": K.rnn(step, x, [h0], return_all_outputs=False),
        "constants": K.rnn(_lstm_like_step(K, w, u), x, [h0, K.zeros_like(h0)],
                           constants=[c], mask=mask),
    }
    arrays = {}
    meta = {}
    for name, (last, outputs, states) in runs.items():
        arrays[f"{name}/last"], arrays[f"{name}/outputs"] = _np(last), _np(outputs)
        for i, s in enumerate(states):
            arrays[f"{name}/state{i}"] = _np(s)
        meta[name] = len(states)
    return arrays, meta


def _small_model(keras):
    inputs = keras.Input((3,), name="x")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="out")(hidden)
    model = keras.Model(inputs, outputs)
    rng = _rng()
    model.set_weights([rng.standard_normal(w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def case_function(keras):
    """``K.function`` over a model's graph: numpy back, a list exactly when ``outputs`` was one."""
    K = keras.backend
    model = _small_model(keras)
    x = _rng().standard_normal((5, 3)).astype("float32")
    features = K.function([model.input], [model.get_layer("hidden").output])([x])
    both = K.function([model.input], [model.get_layer("hidden").output, model.output])(x)
    single = K.function(model.input, model.output)(x)
    return ({"features": features[0], "both_0": both[0], "both_1": both[1], "single": single},
            {"types": [type(features).__name__, type(features[0]).__name__,
                       type(both).__name__, len(both), type(single).__name__]})


def case_gradients_and_function_errors(keras):
    """tf.keras 2 in eager mode: ``K.gradients`` raises RuntimeError, ``K.function(updates=)``
    and session keywords ValueError."""
    K = keras.backend
    model = _small_model(keras)
    meta = {}
    for name, call in (("gradients", lambda: K.gradients(model.output, model.trainable_weights)),
                       ("updates", lambda: K.function([model.input], [model.output],
                                                      updates=[1])),
                       ("session_kwargs", lambda: K.function([model.input], [model.output],
                                                             fetches=[]))):
        try:
            call()
            meta[name] = "no error"
        except RuntimeError:
            meta[name] = "RuntimeError"
        except ValueError:
            meta[name] = "ValueError"
    return {}, meta


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}
