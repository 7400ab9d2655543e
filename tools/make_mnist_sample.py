"""Build the embedded offline MNIST sample, ``src/savepoint/datasets/data/mnist_sample.npz``.

Reads the real 10,000-digit MNIST test set (``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz``, IDX format), checks both files' sha256 against the values in the
data folder's README, and splits it: train = digits at even indices (5,000), test = digits at odd
indices (5,000). The result is written with ``np.savez_compressed`` (keys ``x_train``,
``y_train``, ``x_test``, ``y_test``, the layout of Keras's ``mnist.npz``).

Example:
    python tools/make_mnist_sample.py                 # reads ../shared/data/mnist
    python tools/make_mnist_sample.py /path/to/mnist  # or another folder with the two files
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "src"))

from savepoint.datasets.mnist import parse_idx  # noqa: E402
from savepoint.saving import storage  # noqa: E402

DEFAULT_SOURCE = os.path.join(REPO, "..", "shared", "data", "mnist")
OUTPUT = os.path.join(REPO, "src", "savepoint", "datasets", "data", "mnist_sample.npz")
MAX_BYTES = 2 * 1024 * 1024
EXPECTED_COUNT = 10000

# sha256 of the files as shipped (see the README beside them).
FILES = {
    "images": ("t10k-images-idx3-ubyte.gz", 2051,
               "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b"),
    "labels": ("t10k-labels-idx1-ubyte.gz", 2049,
               "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c"),
}


def read_verified(folder: str, kind: str) -> np.ndarray:
    """Read one IDX file from ``folder`` after checking its sha256; return its array."""
    name, magic, sha256 = FILES[kind]
    data = storage.read_bytes(os.path.join(folder, name))
    received = hashlib.sha256(data).hexdigest()
    if received != sha256:
        raise SystemExit(f"Expected {name} with sha256 {sha256}. Received {received}. "
                         f"Fix: use the files described in the README of {folder}.")
    return parse_idx(data, expected_magic=magic)


def build_sample(folder: str) -> dict[str, np.ndarray]:
    """Split the 10,000 test digits: even indices -> train, odd indices -> test."""
    images, labels = read_verified(folder, "images"), read_verified(folder, "labels")
    if images.shape != (EXPECTED_COUNT, 28, 28) or labels.shape != (EXPECTED_COUNT,):
        raise SystemExit(f"Expected images ({EXPECTED_COUNT}, 28, 28) and labels "
                         f"({EXPECTED_COUNT},). Received {images.shape} and {labels.shape}.")
    return {"x_train": images[0::2], "y_train": labels[0::2],
            "x_test": images[1::2], "y_test": labels[1::2]}


def main(argv: list[str] | None = None) -> int:
    """Build and write the sample; print its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE,
                        help="folder holding the two t10k IDX .gz files")
    parser.add_argument("--output", default=OUTPUT, help="where to write the .npz")
    args = parser.parse_args(argv)
    arrays = build_sample(args.source)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    size = buffer.tell()
    if size >= MAX_BYTES:
        raise SystemExit(f"Expected the sample under {MAX_BYTES} bytes. Received {size}.")
    storage.makedirs(os.path.dirname(args.output))
    storage.write_bytes_atomically(args.output, buffer.getvalue())
    print(f"wrote {args.output}: {size:,} bytes; train labels start "
          f"{arrays['y_train'][:5].tolist()}, test labels start {arrays['y_test'][:5].tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
