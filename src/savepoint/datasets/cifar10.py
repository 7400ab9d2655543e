"""CIFAR-10 with the Keras API: ``load_data()`` downloads Keras's python archive (sha256-verified,
cached, extracted) and returns channels-last uint8 images."""

from __future__ import annotations

import os

import numpy as np

from savepoint.datasets.cifar import load_batch
from savepoint.utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data(cache_dir: str | None = None):
    """``((x_train, y_train), (x_test, y_test))``: images ``(n, 32, 32, 3)`` uint8, labels
    ``(n, 1)`` uint8 0-9. Offline, raises ``StorageError`` naming the URL and the cache path.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_train.shape  # doctest: +SKIP
        ((50000, 32, 32, 3), (50000, 1))
    """
    path = get_file("cifar-10-batches-py", origin=ORIGIN, untar=True, file_hash=SHA256,
                    cache_dir=cache_dir)
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([np.asarray(p[1], np.uint8) for p in parts])
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.asarray(y_test, np.uint8).reshape(len(y_test), 1)
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)


__all__ = ["load_data"]
