"""Attention layers beyond the goldens: the SDPA path equals the explicit softmax, dropout only
in training, symbolic calls with scores, Keras masks on the inputs, argument errors, configs."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError

L = keras.layers


def _qv(rng, t=4, s=5, d=6):
    return (torch.tensor(rng.normal(size=(2, t, d)).astype("float32")),
            torch.tensor(rng.normal(size=(2, s, d)).astype("float32")))


def test_sdpa_path_matches_explicit_softmax(rng):
    q, v = _qv(rng)
    mha = L.MultiHeadAttention(2, 3)
    fused = mha(q, v)
    explicit, scores = mha(q, v, return_attention_scores=True)
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(scores.sum(-1), torch.ones(2, 2, 4))
    causal = mha(q, q, use_causal_mask=True)
    explicit, scores = mha(q, q, use_causal_mask=True, return_attention_scores=True)
    torch.testing.assert_close(causal, explicit, rtol=1e-5, atol=1e-6)
    assert torch.all(scores.triu(1) == 0)


def test_dropout_only_in_training(rng):
    q, v = _qv(rng)
    mha = L.MultiHeadAttention(2, 3, dropout=0.5)
    torch.testing.assert_close(mha(q, v), mha(q, v, training=False))
    assert not torch.allclose(mha(q, v, training=True), mha(q, v))
    att = L.Attention(dropout=0.5)
    torch.testing.assert_close(att([q, v]), att([q, v]))
    assert not torch.allclose(att([q, v], training=True), att([q, v]))


def test_symbolic_calls_and_scores_shapes():
    q, v = keras.Input((4, 6)), keras.Input((5, 6))
    out, scores = L.MultiHeadAttention(2, 3, output_shape=7)(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 7) and scores.shape == (None, 2, 4, 5)
    q4, v4 = keras.Input((3, 4, 6)), keras.Input((3, 5, 6))
    _, scores4 = L.MultiHeadAttention(2, 3, attention_axes=2)(q4, v4,
                                                              return_attention_scores=True)
    assert scores4.shape == (None, 3, 2, 4, 5)
    out, weights = L.Attention()([q, v], return_attention_scores=True)
    assert out.shape == (None, 4, 6) and weights.shape == (None, 4, 5)
    model = keras.Model([q, v], [out, weights])
    got = model.predict([np.ones((2, 4, 6)), np.ones((2, 5, 6))], verbose=0)
    assert got[1].shape == (2, 4, 5)


def test_keras_mask_on_value_masks_keys(rng):
    q, v = _qv(rng)
    mha = L.MultiHeadAttention(2, 3)
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    explicit, _ = mha(q, v, attention_mask=keep[:, None, :].expand(2, 4, 5),
                      return_attention_scores=True)
    masked_value = v.clone()
    masked_value._keras_mask = keep
    got = mha(q, masked_value)
    torch.testing.assert_close(got, explicit, rtol=1e-5, atol=1e-6)


def test_mha_weights_layout_and_names():
    mha = L.MultiHeadAttention(4, 8, value_dim=5, name="mha")
    mha(torch.zeros(1, 3, 16), torch.zeros(1, 7, 12))
    assert [(w.path, w.shape) for w in mha.weights] == [
        ("mha/query/kernel", (16, 4, 8)), ("mha/query/bias", (4, 8)),
        ("mha/key/kernel", (12, 4, 8)), ("mha/key/bias", (4, 8)),
        ("mha/value/kernel", (12, 4, 5)), ("mha/value/bias", (4, 5)),
        ("mha/attention_output/kernel", (4, 5, 16)), ("mha/attention_output/bias", (16,))]
    children = [name for name, _ in mha._trackable_children()]
    assert children == ["_query_dense", "_key_dense", "_value_dense", "_output_dense"]


def test_mha_config_round_trip_builds_from_shapes():
    mha = L.MultiHeadAttention(2, 3, name="m")
    mha(torch.zeros(1, 4, 6), torch.zeros(1, 5, 6))
    config = mha.get_config()
    assert config["query_shape"] == [1, 4, 6] or config["query_shape"][1:] == [4, 6]
    rebuilt = L.MultiHeadAttention.from_config(config)
    assert rebuilt.built and len(rebuilt.weights) == 8
    out = L.MultiHeadAttention.keras3_config_out(config)
    assert "query_shape" not in out and out["use_gate"] is False


def test_attention_errors():
    with pytest.raises(ConfigError, match=r"MultiHeadAttention expected `num_heads` to be a "
                                          r"positive int. Received: num_heads=0"):
        L.MultiHeadAttention(0, 3)
    with pytest.raises(ConfigError, match=r"MultiHeadAttention expected `dropout` in \[0, 1\). "
                                          r"Received: dropout=1.5"):
        L.MultiHeadAttention(2, 3, dropout=1.5)
    with pytest.raises(ConfigError, match=r"MultiHeadAttention expected use_gate=False"):
        L.MultiHeadAttention(2, 3, use_gate=True)
    with pytest.raises(ConfigError, match=r"expected a `value` tensor. Received: value=None"):
        L.MultiHeadAttention(2, 3)(torch.zeros(1, 2, 3))
    with pytest.raises(ConfigError, match=r"MultiHeadAttention expected `attention_axes` among "
                                          r"the axes between the batch and the features "
                                          r"\(\[1, 2\]\). Received: attention_axes=\[3\]"):
        L.MultiHeadAttention(2, 3, attention_axes=3)(torch.zeros(1, 2, 3, 4),
                                                      torch.zeros(1, 2, 3, 4))
    with pytest.raises(ConfigError, match=r"supports Keras masks and use_causal_mask on rank-3 "
                                          r"inputs"):
        L.MultiHeadAttention(2, 3)(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4),
                                   use_causal_mask=True)
    with pytest.raises(ShapeError, match=r"needs query and key to agree on the axes outside "
                                         r"attention_axes=\[2\]"):
        L.MultiHeadAttention(2, 3, attention_axes=2)(torch.zeros(1, 2, 3, 4),
                                                      torch.zeros(1, 5, 3, 4))
    with pytest.raises(ShapeError, match=r"expected query, value and key of the same rank >= 3"):
        L.MultiHeadAttention(2, 3)(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ConfigError, match=r"Attention expected score_mode 'dot' or 'concat'. "
                                          r"Received: score_mode='add'"):
        L.Attention(score_mode="add")
    with pytest.raises(ConfigError, match=r"Attention layer must be called on a list of inputs, "
                                          r"namely \[query, value\] or \[query, value, key\]. "
                                          r"Received: a single input of shape \(None, 2, 3\)"):
        L.Attention()(torch.zeros(1, 2, 3))
    with pytest.raises(ConfigError, match=r"AdditiveAttention expected `dropout` in \[0, 1\)"):
        L.AdditiveAttention(dropout=-0.1)


def test_einsum_dense_layer(roundtrip, rng):
    layer = L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c", activation="relu")
    x = rng.normal(size=(3, 5)).astype("float32")
    out = layer(x)
    k, b = layer.get_weights()
    np.testing.assert_allclose(out.numpy(), np.maximum(x @ k + b, 0), rtol=1e-5, atol=1e-6)
    roundtrip(layer, x)
    with pytest.raises(ConfigError, match=r"EinsumDense expected an equation of the form "
                                          r"'ab,bc->ac' without ellipses. Received: "
                                          r"equation='...b,bc->...c'"):
        L.EinsumDense("...b,bc->...c", 4)(x)


def test_dense_attention_config_round_trip(roundtrip, rng):
    q = rng.normal(size=(2, 3, 4)).astype("float32")
    for layer in (L.Attention(use_scale=True, score_mode="concat"), L.AdditiveAttention()):
        layer([q, q])
        rebuilt = type(layer).from_config(layer.get_config())
        rebuilt([q, q])
        rebuilt.set_weights(layer.get_weights())
        torch.testing.assert_close(rebuilt([q, q]), layer([q, q]), rtol=0, atol=0)


def test_embedding_mask_reaches_attention_layers():
    """``Embedding(mask_zero=True)`` masks MHA (query & value, as tf.keras 2) and Attention."""
    tok = keras.Input((5,), dtype="int32")
    mha, att = L.MultiHeadAttention(2, 2, name="mha"), L.Attention(name="att")
    e = L.Embedding(10, 4, mask_zero=True, name="emb")(tok)
    model = keras.Model(tok, [mha(e, e), att([e, e])])
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]], "int32")
    got_mha, got_att = model.predict(x, verbose=0)
    emb = model.get_layer("emb")(torch.tensor(x)).detach().clone()
    keep = torch.tensor(x != 0)
    want_mha = mha(emb, emb, attention_mask=keep[:, :, None] & keep[:, None, :])
    want_att = att([emb, emb], mask=[keep, keep])
    np.testing.assert_allclose(got_mha, want_mha.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_att, want_att.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_constraints_apply_and_serialize():
    """Keras's weight constraints on PReLU, GroupNormalization and MultiHeadAttention: kept in
    the config and applied after every optimizer step."""
    seq = keras.Input((4, 6))
    x = L.MultiHeadAttention(2, 3, kernel_constraint="non_neg", name="mha")(seq, seq)
    x = L.PReLU(alpha_constraint="non_neg", alpha_initializer="ones", name="prelu")(x)
    x = L.GroupNormalization(2, gamma_constraint=keras.constraints.MaxNorm(0.5), name="gn")(x)
    model = keras.Model(seq, L.Dense(1)(L.Flatten()(x)))
    assert model.get_layer("mha").get_config()["kernel_constraint"]["class_name"] == "NonNeg"
    rebuilt = L.PReLU.from_config(model.get_layer("prelu").get_config())
    assert type(rebuilt.alpha_constraint).__name__ == "NonNeg"
    model.compile(keras.optimizers.SGD(1.0), "mse")
    data = np.random.default_rng(0).normal(size=(8, 4, 6)).astype("float32")
    model.fit(data, np.full((8, 1), 50.0, "float32"), epochs=2, verbose=0)
    for w in model.get_layer("mha").weights:
        if w.name == "kernel":
            assert w.numpy().min() >= 0
    assert model.get_layer("prelu").get_weights()[0].min() >= 0
    assert np.linalg.norm(model.get_layer("gn").get_weights()[0]) <= 0.5 + 1e-5
