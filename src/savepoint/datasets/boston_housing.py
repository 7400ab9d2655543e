"""Boston housing prices with the Keras API: ``load_data()`` downloads Keras's
``boston_housing.npz`` (sha256-verified, cached) and splits it as tf.keras does."""

from __future__ import annotations

import numpy as np

from savepoint.datasets.safe_pickle import load_npz
from savepoint.errors import ConfigError
from savepoint.utils.file_utils import get_file

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113,
              cache_dir: str | None = None):
    """``((x_train, y_train), (x_test, y_test))``: 13 features per house, price in k$;
    shuffled with ``np.random.RandomState(seed)`` then split at ``1 - test_split``.
    Offline, raises ``StorageError`` naming the URL and the cache path.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, x_test.shape  # doctest: +SKIP
        ((404, 13), (102, 13))
    """
    if not 0 <= test_split < 1:
        raise ConfigError(f"Expected test_split in [0, 1). Received: test_split={test_split}.")
    arrays = load_npz(get_file(path, origin=ORIGIN, file_hash=SHA256, cache_dir=cache_dir))
    x, y = arrays["x"], arrays["y"]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


__all__ = ["load_data"]
