"""keras.preprocessing.text against REAL tf-keras (tools/make_tokenizer_goldens.py):
Tokenizer indices, sequences, matrices, JSON in both directions; word splitting; md5 hashing."""

import json
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.preprocessing import text

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "utils",
                       "tokenizer.json")) as f:
    G = json.load(f)


@pytest.mark.parametrize("case", sorted(G["cases"]))
def test_tokenizer_matches_tf_keras(case):
    golden = G["cases"][case]
    t = text.Tokenizer(**golden["kwargs"])
    t.fit_on_texts(G["texts"])
    assert t.word_index == golden["word_index"]
    assert dict(t.word_counts) == golden["word_counts"]
    seqs = t.texts_to_sequences(G["query"])
    assert seqs == golden["sequences"]
    assert t.sequences_to_texts(seqs) == golden["texts_back"]
    for mode, matrix in golden["matrices"].items():
        np.testing.assert_allclose(t.texts_to_matrix(G["query"], mode=mode), matrix, rtol=1e-12)
    def tables(text_json):  # the tables are JSON strings inside; their key order is set order
        config = json.loads(text_json)["config"]
        return {k: json.loads(v) if k in ("word_counts", "word_docs", "index_docs",
                                          "index_word", "word_index") else v
                for k, v in config.items()}
    assert tables(t.to_json()) == tables(golden["json"])
    restored = text.tokenizer_from_json(golden["json"])  # tf.keras's JSON
    assert restored.texts_to_sequences(G["query"]) == golden["sequences"]


def test_helpers_match_tf_keras():
    assert text.text_to_word_sequence("Hello, World! It's  a TEST.") == G["word_sequence"]
    assert text.hashing_trick("the quick brown fox", 17, hash_function="md5") == G["md5"]
    assert keras.preprocessing.text.Tokenizer is text.Tokenizer


def test_errors():
    with pytest.raises(ConfigError, match="Specify a dimension"):
        text.Tokenizer().texts_to_matrix(["a"])
    t = text.Tokenizer()
    t.fit_on_texts(["a"])
    with pytest.raises(ConfigError, match="Unknown vectorization mode: 'bag'"):
        t.texts_to_matrix(["a"], mode="bag")
    with pytest.raises(ConfigError, match="Expected the JSON of Tokenizer.to_json()"):
        text.tokenizer_from_json("{}")
