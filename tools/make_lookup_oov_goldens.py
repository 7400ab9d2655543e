"""Regenerate tests/fixtures/goldens/lookup_oov/oov.json with REAL TensorFlow / tf-keras:
where out-of-vocabulary tokens land when ``StringLookup``/``IntegerLookup`` have several OOV
indices (TF hashes strings with FarmHash ``Fingerprint64``, ``tf.strings.to_hash_bucket_fast``).

Run from the repository root:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_lookup_oov_goldens.py

It writes ``strings`` (every byte-length class: 0-16, 17-32, 33-64, over 64, ASCII and multi-byte
UTF-8), ``buckets`` (``{num_buckets: to_hash_bucket_fast(strings, num_buckets)}``, including
``2**63 - 1``, which keeps 63 bits of the fingerprint), and ``layers``: for each case the layer's
kwargs, its input and tf-keras's output.
"""

from __future__ import annotations

import os
import random
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _goldens import ROOT, write_json  # noqa: E402
from tensorflow import keras  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "lookup_oov", "oov.json")
BUCKETS = (2, 3, 7, 10, 1000, 2 ** 63 - 1)


def strings() -> list[str]:
    rnd = random.Random(8)
    out = ["", "a", "zz", "[UNK]", "hello", "é", "日本語", "🙂", "a b", " ", "\n"]
    for length in range(0, 150):  # every byte length of each class, ASCII
        out.append("".join(chr(rnd.randint(32, 126)) for _ in range(length)))
    for length in (5, 17, 30, 40, 64, 65, 100, 200, 1000):  # multi-byte UTF-8
        out.append("".join(chr(rnd.randint(0xa0, 0x2fff)) for _ in range(length)))
    return out


def layer_cases(tokens: list[str]) -> list[dict]:
    vocab = ["a", "zz", "hello"]
    ints = [5, 6, 7, 8, 9, 10, -1, -7, 0, 1, 2 ** 40, -(2 ** 40) - 3]
    return [
        {"class_name": "StringLookup", "kwargs": {"vocabulary": vocab, "num_oov_indices": 3},
         "x": tokens},
        {"class_name": "StringLookup", "kwargs": {"vocabulary": vocab, "num_oov_indices": 5,
                                                  "mask_token": ""}, "x": tokens},
        {"class_name": "StringLookup", "kwargs": {"vocabulary": vocab, "num_oov_indices": 2,
                                                  "output_mode": "count"}, "x": [tokens[:20]]},
        {"class_name": "IntegerLookup", "kwargs": {"vocabulary": [5, 6], "num_oov_indices": 3},
         "x": ints},
        {"class_name": "IntegerLookup", "kwargs": {"vocabulary": [5, 6], "num_oov_indices": 4,
                                                   "mask_token": 0}, "x": ints},
    ]


def main() -> None:
    tokens = strings()
    golden = {"strings": tokens, "buckets": {}, "layers": []}
    for n in BUCKETS:
        golden["buckets"][str(n)] = [int(v) for v in
                                     tf.strings.to_hash_bucket_fast(tokens, n).numpy()]
    for case in layer_cases(tokens):
        layer = getattr(keras.layers, case["class_name"])(**case["kwargs"])
        dtype = tf.string if case["class_name"] == "StringLookup" else tf.int64
        y = layer(tf.constant(case["x"], dtype)).numpy()
        golden["layers"].append({**case, "y": np.asarray(y).tolist()})
    write_json(OUT, golden)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
