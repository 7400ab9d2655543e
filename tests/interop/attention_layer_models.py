"""The architectures of the issue 8.3/8.4 layer interop checks, written once for savepoint,
tf_keras and Keras 3 (each builder takes the Keras module). Only numpy and the module passed in
are used.

Example:
    >>> import savepoint
    >>> attention_model(savepoint).output_shape
    (None, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def attention_model(keras: Any, keras2_only: bool = True) -> Any:
    """MHA (causal, cross with key), Attention, AdditiveAttention, the activation, normalization,
    regularization and reshaping layers. ``keras2_only`` adds ThresholdedReLU (not in Keras 3)."""
    L = keras.layers
    tokens = keras.Input((6, 8), name="seq")
    x = L.Dense(8, name="proj")(tokens)
    x = L.MultiHeadAttention(2, 4, name="mha")(x, x, use_causal_mask=True)
    y = L.MultiHeadAttention(2, 3, value_dim=5, output_shape=8, name="mha_cross")(
        x, tokens, key=tokens)
    x = L.Attention(use_scale=True, name="att")([x, y])
    x = L.Attention(score_mode="concat", name="att_concat")([x, y, tokens])
    x = L.AdditiveAttention(name="add_att")([x, y])
    x = L.ReLU(max_value=6.0, negative_slope=0.1, name="relu")(x)
    x = L.LeakyReLU(0.2, name="leaky")(x)
    x = L.PReLU(shared_axes=[1], alpha_initializer="ones", name="prelu")(x)
    x = L.ELU(alpha=0.5, name="elu")(x)
    x = L.GroupNormalization(groups=2, name="gn")(x)
    x = L.UnitNormalization(name="un")(x)
    x = L.SpatialDropout1D(0.1, name="sd")(x)
    x = L.GaussianNoise(0.1, name="gnoise")(x)
    x = L.GaussianDropout(0.1, name="gdrop")(x)
    x = L.AlphaDropout(0.1, name="adrop")(x)
    x = L.ActivityRegularization(l1=1e-3, name="actreg")(x)
    x = L.Permute((2, 1), name="perm")(x)
    x = L.Softmax(axis=1, name="softmax")(x)
    if keras2_only:
        x = L.ThresholdedReLU(theta=0.01, name="trelu")(x)
    x = L.Permute((2, 1), name="perm_back")(x)
    x = L.GlobalAveragePooling1D(name="gap")(x)
    x = L.Flatten(name="flat")(L.RepeatVector(2, name="repeat")(x))
    return keras.Model(tokens, L.Dense(3, name="head")(x))


def merging_model(keras: Any, keras2_only: bool = True) -> Any:
    """Every merge layer and lower-case merge function, Keras 2 activation strings
    (``hard_sigmoid`` only with ``keras2_only``: Keras 3 redefined it)."""
    L = keras.layers
    inp = keras.Input((5,), name="features")
    a = L.Dense(4, activation="gelu", name="a")(inp)
    b = L.Dense(4, activation="swish", name="b")(inp)
    merged = [L.Add(name="m_add")([a, b]), L.Subtract(name="m_sub")([a, b]),
              L.Multiply(name="m_mul")([a, b]), L.Average(name="m_avg")([a, b]),
              L.Maximum(name="m_max")([a, b]), L.Minimum(name="m_min")([a, b]),
              L.Dot(axes=1, name="m_dot")([a, b]),
              L.Dot(axes=1, normalize=True, name="m_cos")([a, b]),
              L.add([a, b], name="f_add"), L.subtract([a, b], name="f_sub"),
              L.multiply([a, b], name="f_mul"), L.average([a, b], name="f_avg"),
              L.maximum([a, b], name="f_max"), L.minimum([a, b], name="f_min"),
              L.dot([a, b], axes=-1, name="f_dot")]
    x = L.concatenate(merged, name="cat")
    x = L.Dense(6, activation="hard_sigmoid" if keras2_only else "sigmoid", name="hs")(x)
    x = L.Activation("mish", name="mish")(L.Activation("selu", name="selu")(x))
    x = L.Activation("relu6", name="relu6")(L.Activation("softplus", name="softplus")(x))
    return keras.Model(inp, L.Dense(3, activation="log_softmax", name="out")(x))


def masked_model(keras: Any, keras2_only: bool = True) -> Any:
    """MultiHeadAttention with an ``attention_mask`` model input and ``value=``/``key=``
    keywords (tensor keyword arguments in the saved call)."""
    L = keras.layers
    seq, mask = keras.Input((5, 4), name="seq"), keras.Input((5, 5), name="mask")
    x = L.MultiHeadAttention(2, 2, name="mha")(seq, seq, attention_mask=mask)
    x = L.MultiHeadAttention(2, 2, name="mha2")(x, value=seq, key=x, use_causal_mask=True)
    return keras.Model([seq, mask], L.Dense(3, name="out")(L.Flatten(name="flat")(x)))


def embedding_masked_model(keras: Any, keras2_only: bool = True) -> Any:
    """``Embedding(mask_zero=True)``'s mask reaching MultiHeadAttention and Attention."""
    L = keras.layers
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    e = L.Embedding(12, 4, mask_zero=True, name="emb")(tokens)
    x = L.MultiHeadAttention(2, 2, name="mha")(e, e)
    x = L.Attention(use_scale=True, name="att")([x, e])
    return keras.Model(tokens, L.Dense(3, name="out")(x))


BUILDERS = {"attention": attention_model, "merging": merging_model, "masked": masked_model,
            "embedding_masked": embedding_masked_model}
# Keras 3 propagates Embedding masks through these layers differently from tf.keras 2, whose
# semantics savepoint keeps: that model is checked against tf.keras only.
KERAS3_BUILDERS = {k: v for k, v in BUILDERS.items() if k != "embedding_masked"}


def data(name: str) -> list:
    """The model's inputs (a list, one array per model input)."""
    rng = np.random.default_rng(5)
    if name == "masked":
        return [rng.standard_normal((4, 5, 4)).astype("float32"),
                (rng.random((4, 5, 5)) > 0.3).astype("float32")]
    if name == "embedding_masked":
        tokens = rng.integers(1, 12, (4, 6)).astype("int32")
        tokens[0, 3:], tokens[2, 1:] = 0, 0
        return [tokens]
    shape = (4, 6, 8) if name == "attention" else (4, 5)
    return [rng.standard_normal(shape).astype("float32")]


def feed(xs: list) -> Any:
    return xs if len(xs) > 1 else xs[0]


def inputs_of(npz: Any) -> Any:
    return feed([npz[k] for k in sorted(k for k in npz.files if k.startswith("x"))])


def set_weights(model: Any, seed: int) -> None:
    """Deterministic non-trivial weights (the initializers differ between libraries)."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * 0.4).astype("float32")
                       for w in model.get_weights()])
