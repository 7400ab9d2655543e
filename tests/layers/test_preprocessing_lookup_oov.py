"""Several OOV indices in ``StringLookup``/``IntegerLookup``: OOV strings land where TensorFlow's
FarmHash ``Fingerprint64`` buckets send them, OOV ints at their floor-mod, checked against goldens
from real TF (tools/make_lookup_oov_goldens.py) for every byte-length class of string."""

import doctest
import json
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.layers.preprocessing import farmhash

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "lookup_oov",
                      "oov.json")


@pytest.fixture(scope="module")
def golden():
    with open(GOLDEN) as f:
        return json.load(f)


def test_goldens_cover_every_length_class(golden):
    lengths = {len(s.encode("utf-8")) for s in golden["strings"]}
    assert set(range(0, 150)) <= lengths and max(lengths) > 1000
    assert any(len(s.encode("utf-8")) != len(s) for s in golden["strings"])  # multi-byte


@pytest.mark.parametrize("buckets", ["2", "3", "7", "10", "1000", str(2 ** 63 - 1)])
def test_hash_buckets_match_tensorflow(golden, buckets):
    ours = farmhash.hash_bucket(golden["strings"], int(buckets))
    theirs = np.array(golden["buckets"][buckets], np.int64)
    wrong = [len(s.encode()) for s, a, b in zip(golden["strings"], ours, theirs) if a != b]
    assert not wrong, f"byte lengths hashed differently from TF: {wrong[:10]}"


def test_bytes_hash_like_their_utf8_text(golden):
    text = golden["strings"][:40]
    np.testing.assert_array_equal(farmhash.fingerprint64([s.encode() for s in text]),
                                  farmhash.fingerprint64(text))


@pytest.mark.parametrize("index", range(5))
def test_lookup_layers_match_tf_keras(golden, index):
    case = golden["layers"][index]
    layer = getattr(keras.layers, case["class_name"])(**case["kwargs"])
    x = np.array(case["x"], dtype=object if case["class_name"] == "StringLookup" else np.int64)
    np.testing.assert_array_equal(layer(x).numpy(), np.array(case["y"]))


def test_several_oov_indices_survive_saving(tmp_path, golden):
    case = golden["layers"][1]
    inputs = keras.Input((), dtype="string")
    model = keras.Model(inputs, keras.layers.StringLookup(**case["kwargs"])(inputs))
    for suffix in (".h5", ".keras"):
        path = str(tmp_path / f"m{suffix}")
        model.save(path)
        loaded = keras.models.load_model(path, compile=False)
        assert loaded.layers[-1].get_vocabulary()[:6] == ["", "[UNK]", "[UNK]", "[UNK]",
                                                          "[UNK]", "[UNK]"]
        np.testing.assert_array_equal(
            loaded.predict(np.array(case["x"], dtype=object), verbose=0), np.array(case["y"]))


def test_invert_maps_every_oov_index_to_the_oov_token():
    layer = keras.layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=3, invert=True)
    assert layer(np.array([0, 1, 2, 3, 4])).tolist() == ["[UNK]"] * 3 + ["a", "b"]


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_bad_num_oov_indices_is_refused(value):
    with pytest.raises(ConfigError, match=r"StringLookup expected `num_oov_indices` to be an int "
                                          r">= 0\. Received: num_oov_indices="):
        keras.layers.StringLookup(num_oov_indices=value)


def test_docstring_examples():
    result = doctest.testmod(farmhash)
    assert result.failed == 0 and result.attempted > 0
