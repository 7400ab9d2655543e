"""LIVE: the attention, mask, TF-op and remaining layers' lowerings in TensorFlow's three loaders.

Each model is written by savepoint without TensorFlow; one TF process
(tf_check_saved_model.py) checks ``signatures["serving_default"]`` at two batch sizes (≤ 1e-5 of
``model.predict``), ``saved_model_cli run``, and ``tf.keras.models.load_model`` (every weight
bit for bit, predictions; compiled ones evaluate and train on). The op table, with this
section's ops, is compared with TF's OpDef registry."""

from __future__ import annotations

import json
import os
import sys

import savepoint as keras
from test_saved_model_write_interop import _case, _ops_table
from venv_runners import TF_PYTHON, _interop_python, _run_in_tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from attention_layer_models import attention_model  # noqa: E402
from saving_model_families import tf_op_functional  # noqa: E402

L = keras.layers


def transformer() -> keras.Model:
    """A transformer block: self-attention (MHA) + Add + LayerNorm + feed-forward Dense + Add."""
    x = keras.Input((6, 8), name="tokens")
    a = L.MultiHeadAttention(num_heads=2, key_dim=4, name="self_attention")(x, x)
    h = L.LayerNormalization()(L.Add()([x, a]))
    f = L.Dense(8)(L.Dense(16, activation="gelu")(h))
    h = L.LayerNormalization()(L.Add()([h, f]))
    model = keras.Model(x, L.Dense(3, name="out")(L.GlobalAveragePooling1D()(h)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def cross_attention() -> keras.Model:
    """MHA options: cross attention with a key, value_dim, no bias, output_shape, the causal
    mask, an attention_mask input, the attention scores as an output; rank-4 inputs over all
    their axes and over one of them (attention_axes)."""
    q, v = keras.Input((5, 6), name="query"), keras.Input((7, 4), name="value")
    k = keras.Input((7, 3), name="key")
    mask_in = keras.Input((5, 7), name="mask")
    # 0/1 from the random inputs: tf.keras adds (1 - mask) * -1e9 for a float mask as it is
    mask = L.ReLU()(L.TFOpLambda("math.sign")(mask_in))
    out, scores = L.MultiHeadAttention(3, 2, value_dim=5, use_bias=False, output_shape=4,
                                       name="cross")(q, v, key=k, attention_mask=mask,
                                                     return_attention_scores=True)
    causal = L.MultiHeadAttention(2, 3, name="causal")(q, q, use_causal_mask=True)
    image = keras.Input((3, 4, 2), name="image")
    grid, grid_scores = L.MultiHeadAttention(2, 2, name="grid")(image, image,
                                                               return_attention_scores=True)
    rows, row_scores = L.MultiHeadAttention(2, 3, attention_axes=[2], name="rows")(
        image, image, return_attention_scores=True)
    return keras.Model([q, v, k, mask_in, image],
                       [L.Activation("linear", name="o_cross")(out),
                        L.Activation("linear", name="o_scores")(scores),
                        L.Activation("linear", name="o_causal")(causal),
                        L.Activation("linear", name="o_grid")(L.Flatten()(grid)),
                        L.Activation("linear", name="o_grid_scores")(grid_scores),
                        L.Activation("linear", name="o_rows")(rows),
                        L.Activation("linear", name="o_row_scores")(row_scores)])


def dense_attention() -> keras.Model:
    """Attention (dot with scale, causal, scores; concat), AdditiveAttention with a key, and a
    Masking layer whose mask reaches Attention and MultiHeadAttention."""
    q, v = keras.Input((4, 6), name="q"), keras.Input((5, 6), name="v")
    dot, weights = L.Attention(use_scale=True, name="dot")([q, v], use_causal_mask=True,
                                                          return_attention_scores=True)
    concat = L.Attention(use_scale=True, score_mode="concat", name="concat")([q, v, v])
    additive = L.AdditiveAttention(name="additive")([q, v, L.Dense(6)(v)])
    plain = L.AdditiveAttention(use_scale=False, name="plain")([q, v])
    # a ReLU gate zeroes about half of the steps, which Masking then masks
    mq = L.Masking(name="mask_q")(L.Multiply()([q, L.ReLU()(L.Dense(1)(q))]))
    mv = L.Masking(name="mask_v")(L.Multiply()([v, L.ReLU()(L.Dense(1)(v))]))
    masked = L.Attention(name="masked")([L.Dense(6)(mq), mv])
    mha = L.MultiHeadAttention(2, 3, name="masked_mha")(mq, mv)
    merged = L.Concatenate()([dot, concat, additive, plain, masked, mha])
    return keras.Model([q, v], [L.Dense(3, name="out")(L.Flatten()(merged)),
                                L.Activation("linear", name="weights")(weights)])


def embedding_masks() -> keras.Model:
    """Embedding(mask_zero=True)'s mask (id 0 is about 1 token in 20 of the test inputs) through
    MultiHeadAttention and Attention to a masked GlobalAveragePooling1D."""
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    e = L.Embedding(20, 4, mask_zero=True, name="emb",
                    embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))(tokens)
    x = L.MultiHeadAttention(2, 2, name="mha")(e, e)
    x = L.Attention(use_scale=True, name="att")([x, e])
    pooled = L.GlobalAveragePooling1D(keepdims=True)(L.Dense(5)(x))
    return keras.Model(tokens, L.Dense(3, name="out")(L.Flatten()(pooled)))


def remaining_layers() -> keras.Model:
    """Dot, Permute, RepeatVector, PReLU, ThresholdedReLU, ReLU(threshold), GroupNorm, UnitNorm,
    EinsumDense, Softmax over other axes, Masking before layers that ignore masks."""
    x = keras.Input((4, 6), name="x")
    v = keras.Input((6,), name="v")
    h = L.PReLU(shared_axes=[1], alpha_initializer="random_normal")(x)
    h = L.GroupNormalization(groups=3, gamma_initializer="random_normal",
                             beta_initializer="random_normal")(h)
    p = L.Permute((2, 1))(h)                                   # (6, 4)
    g = L.GroupNormalization(groups=2, axis=1, epsilon=0.01)(p)
    d = L.Dot(axes=(2, 1))([h, g])                             # (4, 4)
    n = L.Dot(axes=2, normalize=True)([h, h])                  # (4, 4)
    r = L.RepeatVector(4)(L.ThresholdedReLU(0.3)(v))           # (4, 6)
    e = L.EinsumDense("abc,cde->abde", output_shape=(4, 2, 3), bias_axes="de")(r)
    e = L.EinsumDense("abcd,cde->abe", output_shape=(4, 5), bias_axes="e",
                      activation="tanh")(L.Permute((2, 1, 3))(L.Reshape((2, 4, 3))(
                          L.Reshape((4, 6))(e))))
    e = L.EinsumDense("ab,bc->ac", output_shape=3)(L.Flatten()(e))
    per_step = L.EinsumDense("abc,bcd->abd", output_shape=(4, 5), bias_axes="d")(r)  # shared b
    s = L.Softmax(axis=1)(L.UnitNormalization(axis=[1, 2])(d))
    t = L.ReLU(threshold=0.2, negative_slope=0.1, max_value=1.5)(n)
    m = L.Flatten()(L.Dense(3)(L.Masking()(L.ReLU(threshold=0.5)(x))))
    merged = L.Concatenate()([L.Flatten()(s), L.Flatten()(t), e, m, L.Flatten()(per_step),
                              L.UnitNormalization()(v)])
    model = keras.Model([x, v], L.Dense(2, name="out")(merged))
    model.compile(optimizer="sgd", loss="mse")
    return model


def tf_ops() -> keras.Model:
    """TF-op layers as tf.keras configs record them (TFOpLambda, SlicingOpLambda)."""
    op = L.TFOpLambda
    x = keras.Input((4, 6), name="x")
    h = op("math.multiply")(op("nn.relu")(x), y=2.0)
    h = op("math.truediv")(1.0, y=op("math.add")(op("math.abs")(h), y=1.0))
    r = op("reshape")(h, shape=[-1, 6, 4])
    t = op("transpose")(r, perm=[0, 2, 1])
    c = op("concat")([t, op("math.square")(x)], axis=-1)     # (4, 12)
    m = op("linalg.matmul")(c, b=op("transpose")(c, perm=[0, 2, 1]))
    s = op("nn.softmax")(m, axis=1)
    g = op("nn.gelu")(c[:, 1:3, ::2], approximate=True)
    e = op("expand_dims")(op("math.reduce_sum")(s, axis=[1, 2]), axis=-1)
    parts = [L.Flatten()(g), e,
             op("math.reduce_mean")(c[..., 0], axis=1, keepdims=True),
             op("clip_by_value")(c[:, -1, :], clip_value_min=-0.5, clip_value_max=0.5),
             op("nn.silu")(op("math.l2_normalize")(x[:, 0], axis=-1), beta=1.5),
             op("squeeze")(op("math.reduce_max")(x, axis=1, keepdims=True), axis=1),
             op("stack")([x[:, 0, 0], x[:, 1, 1]], axis=1)]
    return keras.Model(x, L.Dense(2, name="out")(op("concat")(parts, axis=1)))


def test_attention_and_remaining_lowerings_in_tf_loaders(tmp_path):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    cases = [_case(tmp_path, "transformer", transformer()),
             _case(tmp_path, "cross_attention", cross_attention()),
             _case(tmp_path, "dense_attention", dense_attention()),
             _case(tmp_path, "embedding_masks", embedding_masks()),
             _case(tmp_path, "attention_interop_model", attention_model(keras)),
             _case(tmp_path, "remaining", remaining_layers(), classes=False),
             _case(tmp_path, "tf_ops", tf_ops()),
             _case(tmp_path, "tf_op_functional", tf_op_functional())]
    cli = os.path.join(os.path.dirname(python), "saved_model_cli")
    out = _run_in_tf(python, "tf_check_saved_model.py",
                     {"cases": cases, "ops": _ops_table(), "cli": cli})
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["dir"] for r in reports] == ["transformer", "cross_attention", "dense_attention",
                                           "embedding_masks", "attention_interop_model",
                                           "remaining", "tf_ops", "tf_op_functional"]
    for report in reports:
        print(json.dumps(report))  # the worst errors, seen with pytest -s
        assert report["signature"] <= 1e-5 and report["cli"] <= 1e-5
        assert report["keras"] <= 1e-5
