"""Merge layers: Concatenate and Add on lists of tensors, in functional models too."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import Add, Concatenate, Dense, Input


def test_concatenate_values_and_axes(rng):
    a = rng.normal(size=(2, 3, 4)).astype("float32")
    b = rng.normal(size=(2, 3, 2)).astype("float32")
    np.testing.assert_array_equal(Concatenate()([a, b]).numpy(), np.concatenate([a, b], -1))
    c = rng.normal(size=(2, 1, 4)).astype("float32")
    np.testing.assert_array_equal(Concatenate(axis=1)([a, c]).numpy(),
                                  np.concatenate([a, c], 1))
    three = Concatenate()([torch.ones(2, 1), np.zeros((2, 2), "float32"), torch.ones(2, 3)])
    assert three.shape == (2, 6) and three.sum().item() == 8


def test_concatenate_output_shape():
    layer = Concatenate()
    assert layer.compute_output_shape([(None, 3), (None, 4)]) == (None, 7)
    assert layer.compute_output_shape([(None, 5, None), (None, 5, 2)]) == (None, 5, None)
    assert Concatenate(axis=1).compute_output_shape([(None, None, 3), (None, 2, 3)]) == \
        (None, None, 3)


def test_add_values_and_broadcast(rng):
    a, b, c = (rng.normal(size=(2, 3)).astype("float32") for _ in range(3))
    np.testing.assert_allclose(Add()([a, b, c]).numpy(), a + b + c, rtol=1e-6)
    d = rng.normal(size=(2, 1)).astype("float32")
    np.testing.assert_allclose(Add()([a, d]).numpy(), a + d, rtol=1e-6)
    assert Add().compute_output_shape([(None, 3), (None, 1)]) == (None, 3)
    assert Add().compute_output_shape([(None, None), (None, 4)]) == (None, 4)


def test_merging_in_functional_model(rng):
    x1, x2 = Input((3,)), Input((3,))
    h1, h2 = Dense(4)(x1), Dense(4)(x2)
    merged = Concatenate()([h1, Add()([h1, h2])])
    assert merged.shape == (None, 8)
    model = keras.Model([x1, x2], Dense(1)(merged))
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    out = model.predict([a, b], verbose=0)
    d1, d2, d3 = model.layers[2], model.layers[3], model.layers[-1]
    names = [l.name for l in model.layers]
    assert "concatenate" in names and "add" in names
    k1, b1 = model.get_layer(h1._history[0].name).get_weights()
    k2, b2 = model.get_layer(h2._history[0].name).get_weights()
    e1, e2 = a @ k1 + b1, b @ k2 + b2
    k3, b3 = model.layers[-1].get_weights()
    ref = np.concatenate([e1, e1 + e2], -1) @ k3 + b3
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_concatenate_mismatch_names_layer_and_shapes():
    with pytest.raises(ShapeError, match=r'Layer "concatenate" \(Concatenate\) requires inputs '
                                         r'with matching shapes except for the concatenation '
                                         r'axis -1. Received: input_shape=\[\(2, 3\), '
                                         r'\(4, 3\)\]'):
        Concatenate()([np.ones((2, 3), "float32"), np.ones((4, 3), "float32")])
    with pytest.raises(ShapeError, match=r"input_shape=\[\(None, 3, 2\), \(None, 4, 2\)\]"):
        Concatenate(axis=-1)([Input((3, 2)), Input((4, 2))])
    with pytest.raises(ShapeError, match=r"Received: input_shape=\[\(None, 3\), \(None, 3, 1\)"):
        Concatenate().compute_output_shape([(None, 3), (None, 3, 1)])


def test_add_mismatch_names_layer_and_shapes():
    with pytest.raises(ShapeError, match=r'Layer "add" \(Add\) received inputs with '
                                         r'incompatible shapes: \[\(None, 3\), \(None, 4\)\]'):
        Add()([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    with pytest.raises(ShapeError, match=r"incompatible shapes: \[\(None, 3\), \(None, 3, 1\)\]"):
        Add()([Input((3,)), Input((3, 1))])


def test_merge_requires_a_list_of_two():
    with pytest.raises(ConfigError, match=r'Layer "add" \(Add\) should be called on a list of '
                                          r'at least 2 inputs. Received: 1 input\(s\)'):
        Add()([np.ones((1, 2), "float32")])
    with pytest.raises(ConfigError, match=r"should be called on a list of at least 2 inputs. "
                                          r"Received: a single input of shape \(None, 2\)"):
        Concatenate()(torch.ones(1, 2))
    layer = Add()
    layer([torch.ones(1, 2), torch.ones(1, 2)])
    with pytest.raises(ConfigError, match=r"Received: a single tensor of shape \(1, 2\)"):
        layer(torch.ones(1, 2))
    with pytest.raises(ConfigError, match=r"Concatenate expected `axis` to be an int"):
        Concatenate(axis="last")


def test_merging_config_roundtrip(roundtrip, rng):
    pair = [rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")]
    layer = Concatenate(axis=1)
    roundtrip(layer, pair)
    assert layer.get_config()["axis"] == 1
    roundtrip(Add(), pair)
    assert set(Add().get_config()) == {"name", "trainable", "dtype"}


def test_functional_config_roundtrip_with_embedding_and_merges(rng):
    import json
    ids, extra = Input((4,), dtype="int32"), Input((3,))
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 3)(ids))
    out = Concatenate()([pooled, Add()([pooled, extra])])
    model = keras.Model([ids, extra], out)
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = keras.Model.from_config(config)
    assert json.loads(json.dumps(rebuilt.get_config())) == config
    rebuilt.set_weights(model.get_weights())
    data = [rng.integers(0, 10, size=(2, 4)), rng.normal(size=(2, 3)).astype("float32")]
    np.testing.assert_array_equal(rebuilt.predict(data, verbose=0), model.predict(data, verbose=0))
