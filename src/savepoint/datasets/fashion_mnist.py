"""Fashion-MNIST with the Keras API: ``load_data()`` downloads Keras's four gzipped IDX files
(cached under ``datasets/fashion-mnist``) and checks their IDX headers."""

from __future__ import annotations

import gzip

import numpy as np

from savepoint.datasets.mnist import parse_idx
from savepoint.saving import storage
from savepoint.utils.file_utils import get_file

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def load_data(cache_dir: str | None = None):
    """``((x_train, y_train), (x_test, y_test))``: uint8 images ``(n, 28, 28)`` and labels
    0-9. Keras publishes no hashes for these files; each is checked to be an IDX file of the
    right kind (labels 2049, images 2051) and matching counts. Offline, raises
    ``StorageError`` naming the URL and the cache path.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape, y_test.shape  # doctest: +SKIP
        ((60000, 28, 28), (10000,))
    """
    arrays = []
    for fname, magic in zip(FILES, (2049, 2051, 2049, 2051)):
        path = get_file(fname, origin=BASE + fname, cache_dir=cache_dir,
                        cache_subdir="datasets/fashion-mnist")
        arrays.append(parse_idx(gzip.decompress(storage.read_bytes(path)), magic))
    y_train, x_train, y_test, x_test = (np.asarray(a, np.uint8) for a in arrays)
    return (x_train, y_train), (x_test, y_test)


__all__ = ["load_data"]
