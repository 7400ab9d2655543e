"""Embedding: lookups, integer inputs kept, Keras weight name/initializer, errors."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, DTypeError
from savepoint.layers import Embedding, GlobalAveragePooling1D, Input


def test_embedding_lookup_matches_table(rng):
    layer = Embedding(10, 4)
    ids = np.array([[1, 2, 3], [9, 0, 1]])
    out = layer(ids).detach().numpy()
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(out, table[ids])
    assert out.shape == (2, 3, 4) and out.dtype == np.float32


def test_embedding_weight_name_shape_and_default_initializer():
    layer = Embedding(1000, 64)
    layer.build((None, 5))
    assert [(w.name, w.shape) for w in layer.weights] == [("embeddings", (1000, 64))]
    assert layer.count_params() == 64000
    table = layer.get_weights()[0]
    assert table.min() >= -0.05 and table.max() <= 0.05
    assert table.max() > 0.045 and table.min() < -0.045    # uniform over the whole range
    assert abs(table.mean()) < 0.003
    config = layer.get_config()["embeddings_initializer"]
    assert config["class_name"] == "RandomUniform"
    assert config["config"]["minval"] == -0.05 and config["config"]["maxval"] == 0.05


def test_embedding_integer_inputs_are_not_cast_to_float():
    layer = Embedding(2 ** 25, 1, embeddings_initializer="zeros")
    layer.build((None, 1))
    big = 2 ** 24 + 1              # not representable in float32
    with torch.no_grad():
        layer.embeddings[big, 0] = 7.0
    for ids in (np.array([[big]]), torch.tensor([[big]]), torch.tensor([[big]], dtype=torch.int32)):
        assert layer(ids).item() == 7.0


def test_embedding_float_inputs_are_cast_to_ids():
    layer = Embedding(5, 2)
    layer.build((None, 2))
    table = layer.get_weights()[0]
    out = layer(np.array([[1.0, 4.0]], "float32")).detach().numpy()
    np.testing.assert_array_equal(out[0], table[[1, 4]])


def test_embedding_out_of_range_ids_raise():
    layer = Embedding(5, 2)
    with pytest.raises(ConfigError, match=r'Layer "embedding" received id 5, outside the '
                                          r'vocabulary range \[0, 5\). Expected ids in '
                                          r'\[0, input_dim\)'):
        layer(np.array([[0, 5]]))
    with pytest.raises(ConfigError, match=r"received id -1, outside the vocabulary range"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(DTypeError, match=r"expected integer ids. Received a tensor of dtype "
                                         r"torch.bool"):
        layer(torch.tensor([[True]]))


def test_embedding_config_errors():
    with pytest.raises(ConfigError, match=r"Embedding expected `input_dim` to be a positive int. "
                                          r"Received: input_dim=0"):
        Embedding(0, 3)
    with pytest.raises(ConfigError, match=r"`output_dim` to be a positive int. Received: "
                                          r"output_dim=2.5"):
        Embedding(3, 2.5)


def test_embedding_in_sequential_with_input_length(rng):
    model = keras.Sequential([Embedding(20, 8, input_length=5), GlobalAveragePooling1D(),
                              keras.layers.Dense(2, activation="softmax")])
    assert model.layers[0].output_shape == (None, 5, 8)
    assert model.count_params() == 20 * 8 + 8 * 2 + 2
    ids = rng.integers(0, 20, size=(6, 5))
    y = rng.integers(0, 2, size=6)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.layers[0].get_weights()[0]
    model.fit(ids, y, epochs=1, verbose=0)
    after = model.layers[0].get_weights()[0]
    used = np.unique(ids)
    unused = np.setdiff1d(np.arange(20), used)
    assert not np.array_equal(before[used], after[used])
    np.testing.assert_array_equal(before[unused], after[unused])   # sparse rows stay put
    assert model.predict(ids, verbose=0).shape == (6, 2)


def test_embedding_functional_with_int_input():
    x = Input((3,), dtype="int32")
    y = Embedding(10, 4)(x)
    assert y.shape == (None, 3, 4) and y.dtype == "float32"
    model = keras.Model(x, y)
    out = model.predict(np.array([[1, 2, 3]], "int32"), verbose=0)
    np.testing.assert_array_equal(out[0], model.layers[1].get_weights()[0][[1, 2, 3]])


def test_embedding_mask_zero():
    layer = Embedding(4, 2, mask_zero=True)
    mask = layer.compute_mask(np.array([[0, 1, 0, 3]]))
    assert mask.tolist() == [[False, True, False, True]]
    assert Embedding(4, 2).compute_mask(np.array([[0, 1]])) is None


def test_embedding_config_roundtrip(roundtrip):
    layer = Embedding(7, 3, mask_zero=True, input_length=2)
    roundtrip(layer, np.array([[1, 6], [0, 2]]))
    config = layer.get_config()
    assert config["input_dim"] == 7 and config["output_dim"] == 3
    assert config["mask_zero"] is True and config["input_length"] == 2
    assert config["batch_input_shape"] == [None, 2]
    assert Embedding.from_config({**config, "embeddings_constraint": None}).input_dim == 7
    assert Embedding(3, 2).compute_output_shape((None, 4)) == (None, 4, 2)
