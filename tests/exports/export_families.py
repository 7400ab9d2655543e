"""The model families every ``model.export`` format is tested on (issue 11), and their inputs.

Most builders are the SavedModel interop test's (tests/interop/test_saved_model_write_interop.py),
imported rather than redefined; added here: the tutorial's own MLP (784 -> Dense 512 relu ->
Dropout -> Dense 10) and variants for runtimes with a narrower layer set (TF.js Layers has no
``leaky_relu`` activation string and no ``GRU(reset_after=True)``).

A plain module (not conftest.py), imported by the tests in this folder.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

import savepoint as keras
from savepoint.utils import set_random_seed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "interop"))
from test_saved_model_write_interop import (cnn, functional_mlp, mobilenet,  # noqa: E402
                                            mobilenet_v2, rnn, text, two_in_two_out)

L = keras.layers


def tutorial_mlp() -> keras.Model:
    """The "Save and load models" tutorial's model."""
    model = keras.Sequential([L.Dense(512, activation="relu", input_shape=(784,)),
                              L.Dropout(0.2), L.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def cnn_plain() -> keras.Model:
    """cnn() with activations every runtime knows: Conv2D (same/valid, strides, dilation),
    BatchNorm, DepthwiseConv2D, pooling, global pooling, Concatenate, LeakyReLU as a layer."""
    x = keras.Input((12, 12, 3), name="image")
    h = L.BatchNormalization()(L.Conv2D(8, 3, padding="same", activation="relu6")(x))
    h = L.Conv2D(8, 3, strides=2, padding="valid", activation="selu")(h)
    h = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="softplus")(h)
    h = L.Conv2D(6, 2, dilation_rate=2, padding="same")(h)
    h = L.AveragePooling2D(2, padding="same")(L.MaxPooling2D(2, strides=1)(h))
    h = L.Concatenate()([L.GlobalAveragePooling2D()(h), L.GlobalMaxPooling2D()(h)])
    h = L.BatchNormalization(center=False)(L.LeakyReLU(0.2)(L.Dense(12)(h)))
    return keras.Model(x, L.Dense(4, activation="softmax", name="classes")(h))


def multi_io() -> keras.Model:
    """Two named inputs, Concatenate and Add, two named outputs."""
    a, b = keras.Input((6,), name="b_second"), keras.Input((3,), name="a_first")
    h = L.Concatenate()([L.Dense(5, activation="swish")(a), b])
    h = L.Add()([L.Dense(4, activation="gelu")(h), L.Dense(4, activation="tanh")(h)])
    return keras.Model([a, b], [L.Dense(2, name="z_out")(h), L.Dense(1, name="y_out")(h)])


def rnn_plain() -> keras.Model:
    """LSTM and GRU(reset_after=False) (the GRU form TF.js implements)."""
    x = keras.Input((5, 3), name="steps")
    h = L.LSTM(4, return_sequences=True)(x)
    h = L.GRU(4, return_sequences=True, reset_after=False)(h)
    return keras.Model(x, L.Dense(2, name="out")(L.GlobalAveragePooling1D()(h)))


class Branchy(L.Layer):
    """Data-dependent Python control flow: what ``torch.export`` cannot trace."""

    def call(self, x):
        if float(x.sum()) > 0:
            return x * 2
        return x


def untraceable() -> keras.Model:
    """A model whose forward pass no tracing exporter can capture (layer ``branchy``)."""
    x = keras.Input((3,), name="x")
    return keras.Model(x, Branchy(name="branchy")(x))


def every_tfjs_activation() -> keras.Model:
    """One Dense per activation string TF.js Layers knows (tfjs.TFJS_ACTIVATIONS), summed."""
    from savepoint.exports.tfjs import TFJS_ACTIVATIONS
    x = keras.Input((5,), name="x")
    heads = [L.Dense(3, activation=name, name=f"act_{name}")(x)
             for name in sorted(TFJS_ACTIVATIONS)]
    return keras.Model(x, L.Dense(2, name="out")(L.Concatenate()(heads)))


# name -> builder: what every format must export (tf_saved_model's lowering aside)
FAMILIES = {"tutorial_mlp": tutorial_mlp, "functional_mlp": functional_mlp,
            "two_in_two_out": two_in_two_out, "cnn": cnn, "text": text, "rnn": rnn,
            "mobilenet": mobilenet, "mobilenet_v2": mobilenet_v2}
# the same families in the forms TF.js Layers implements
TFJS_FAMILIES = {"tutorial_mlp": tutorial_mlp, "functional_mlp": functional_mlp,
                 "multi_io": multi_io, "cnn_plain": cnn_plain, "text": text,
                 "rnn_plain": rnn_plain, "mobilenet": mobilenet, "mobilenet_v2": mobilenet_v2,
                 "activations": every_tfjs_activation}


def build(factory, seed: int = 7) -> keras.Model:
    """``factory()`` seeded, with non-trivial biases, and BatchNorm statistics taken from a
    batch of inputs (so that deep models such as MobileNet keep their signal: with the initial
    statistics their outputs hardly depend on the input)."""
    set_random_seed(seed)
    model = factory()
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 0.1, w.shape).astype(w.dtype)
               if v.path.rsplit("/", 1)[-1] in ("bias", "beta") else w
               for w, v in zip(model.get_weights(), model.weights)]
    model.set_weights(weights)
    norms = [l for l in model._flat_layers() if isinstance(l, L.BatchNormalization)]
    if norms:
        momenta = [l.momentum for l in norms]
        for l in norms:
            l.momentum = 0.0
        xs = [torch.from_numpy(x) for x in inputs_for(model, 64, seed + 1)]
        with torch.no_grad():
            model(xs if len(xs) > 1 else xs[0], training=True)
        for l, m in zip(norms, momenta):
            l.momentum = m
    return model


def inputs_for(model: keras.Model, n: int, seed: int = 11) -> list[np.ndarray]:
    """Random inputs for each model input, in ``model.inputs`` order (int32 tokens < 20)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        out.append(rng.integers(0, 20, shape).astype("int32") if "int" in str(t.dtype)
                   else rng.normal(size=shape).astype("float32"))
    return out


def input_names(model: keras.Model) -> list[str]:
    """The names of ``model.inputs`` (Input layer names), in order."""
    return [t._history[0].name for t in model.inputs]

