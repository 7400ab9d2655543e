"""Regenerate tests/fixtures/farmhash64.json: FarmHash Fingerprint64 values computed by REAL TF.

Run from the repository root after `bash tools/setup_interop_venvs.sh`:

    .venvs/tf/bin/python tools/make_farmhash_goldens.py

``tf.fingerprint(data, method="farmhash64")`` is ``tensorflow::Fingerprint64`` of each row's
bytes, written as 8 little-endian bytes. The inputs cover every length branch of
``farmhashna::Hash64`` (0, 1-3, 4-7, 8-16, 17-32, 33-64, 65-128 and long tails, each 64-byte
boundary) with bytes of every value, from a fixed seed.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "farmhash64.json")
LENGTHS = list(range(0, 130)) + [191, 192, 193, 255, 256, 257, 1000, 4096, 10007]


def main() -> None:
    import numpy as np
    import tensorflow as tf
    rng = np.random.default_rng(2024)
    inputs = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in LENGTHS]
    inputs += [b"hello", b"serving_default", b"variables.index", b"\xff" * 100]
    out = tf.fingerprint(tf.constant(inputs), method="farmhash64").numpy()
    pairs = [[data.hex(), str(int.from_bytes(row.tobytes(), "little"))]
             for data, row in zip(inputs, out)]
    with open(OUT, "w") as f:
        json.dump({"tensorflow": tf.__version__, "hex_and_fingerprint64": pairs}, f, indent=0)
    print(f"wrote {len(pairs)} pairs to {OUT}")


if __name__ == "__main__":
    main()
