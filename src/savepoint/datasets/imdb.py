"""IMDB movie reviews with the Keras API: ``load_data()`` downloads Keras's ``imdb.npz``
(sha256-verified, cached; its object arrays read without running code) and prepares the word
indices as tf.keras does; ``get_word_index()`` the word -> index map."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from savepoint.datasets import text_sequences as ts
from savepoint.datasets.safe_pickle import load_npz
from savepoint.errors import ConfigError
from savepoint.saving import storage
from savepoint.utils.file_utils import get_file

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3, cache_dir: str | None = None,
              **kwargs: Any):
    """``((x_train, y_train), (x_test, y_test))``: object arrays of word-index lists and 0/1
    labels; train and test are shuffled with one ``np.random.RandomState(seed)``. Offline,
    raises ``StorageError`` naming the URL and the cache path.

    Example:
        >>> (x_train, y_train), _ = load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), x_train[0][:2]  # doctest: +SKIP
        (25000, [1, 14])
    """
    num_words = ts.check_kwargs(kwargs) or num_words
    arrays = load_npz(get_file(path, origin=BASE + "imdb.npz", file_hash=SHA256,
                               cache_dir=cache_dir))
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    x_train = ts.shift(x_train, start_char, index_from)
    x_test = ts.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = ts.remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = ts.remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ConfigError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                              f"sequence was kept. Increase maxlen.")
    xs = ts.cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    idx = len(x_train)
    return ((_objects(xs[:idx]), labels[:idx]), (_objects(xs[idx:]), labels[idx:]))


def _objects(xs: list) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word -> index map (indices before ``index_from`` is added).

    Example:
        >>> get_word_index()["the"]  # doctest: +SKIP
        1
    """
    fpath = get_file(path, origin=BASE + "imdb_word_index.json", file_hash=WORD_INDEX_MD5)
    return json.loads(storage.read_bytes(fpath))


__all__ = ["load_data", "get_word_index"]
