"""CIFAR-100 with the Keras API: ``load_data(label_mode)`` downloads Keras's python archive
(sha256-verified, cached, extracted) and returns channels-last uint8 images."""

from __future__ import annotations

import os

import numpy as np

from savepoint.datasets.cifar import load_batch
from savepoint.errors import ConfigError
from savepoint.utils.file_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode: str = "fine", cache_dir: str | None = None):
    """``((x_train, y_train), (x_test, y_test))`` with ``fine`` (0-99) or ``coarse`` (0-19)
    labels shaped ``(n, 1)``. Offline, raises ``StorageError`` naming the URL and the cache
    path.

    Example:
        >>> (x_train, y_train), _ = load_data("coarse")  # doctest: +SKIP
        >>> int(y_train.max())  # doctest: +SKIP
        19
    """
    if label_mode not in ("fine", "coarse"):
        raise ConfigError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: '
                          f"label_mode={label_mode}.")
    path = get_file("cifar-100-python", origin=ORIGIN, untar=True, file_hash=SHA256,
                    cache_dir=cache_dir)
    key = label_mode + "_labels"
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=key)
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=key)
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)


__all__ = ["load_data"]
