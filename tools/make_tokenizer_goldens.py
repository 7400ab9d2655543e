"""Regenerate tests/fixtures/goldens/utils/tokenizer.json with REAL tf-keras's
``preprocessing.text`` (Tokenizer, text_to_word_sequence, hashing_trick with md5).

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_tokenizer_goldens.py``.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

from tf_keras.preprocessing import text  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "utils", "tokenizer.json")
TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cats and dogs, cats & DOGS",
         "a\tb\nc -- the end", ""]
QUERY = ["the cat and the unknown zebra", "dogs ate the mat", ""]
CASES = {"default": {}, "num_words": {"num_words": 6},
         "oov": {"num_words": 5, "oov_token": "<OOV>"},
         "no_lower": {"lower": False, "filters": ".!"},
         "char": {"char_level": True, "num_words": 8}}


def main() -> None:
    out = {"texts": TEXTS, "query": QUERY, "cases": {}}
    for case, kwargs in CASES.items():
        t = text.Tokenizer(**kwargs)
        t.fit_on_texts(TEXTS)
        seqs = t.texts_to_sequences(QUERY)
        out["cases"][case] = {
            "kwargs": kwargs, "word_index": t.word_index, "word_counts": dict(t.word_counts),
            "sequences": seqs, "texts_back": t.sequences_to_texts(seqs),
            "matrices": {m: t.texts_to_matrix(QUERY, mode=m).tolist()
                         for m in ("binary", "count", "freq", "tfidf")},
            "json": t.to_json()}
    out["word_sequence"] = text.text_to_word_sequence("Hello, World! It's  a TEST.")
    out["md5"] = text.hashing_trick("the quick brown fox", 17, hash_function="md5")
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
