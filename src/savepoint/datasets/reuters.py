"""Reuters newswire topics with the Keras API: ``load_data()`` downloads Keras's
``reuters.npz`` (sha256-verified, cached; object arrays read without running code) and splits
it as tf.keras does; ``get_word_index()`` and ``get_label_names()``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from savepoint.datasets import text_sequences as ts
from savepoint.datasets.imdb import _objects
from savepoint.datasets.safe_pickle import load_npz
from savepoint.saving import storage
from savepoint.utils.file_utils import get_file

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              cache_dir: str | None = None, **kwargs: Any):
    """``((x_train, y_train), (x_test, y_test))``: object arrays of word-index lists and topic
    ids 0-45, shuffled with ``np.random.RandomState(seed)`` and split at ``1 - test_split``.
    Offline, raises ``StorageError`` naming the URL and the cache path.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> len(x_train), len(x_test)  # doctest: +SKIP
        (8982, 2246)
    """
    num_words = ts.check_kwargs(kwargs) or num_words
    arrays = load_npz(get_file(path, origin=BASE + "reuters.npz", file_hash=SHA256,
                               cache_dir=cache_dir))
    xs, labels = arrays["x"], arrays["y"]
    indices = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    xs = ts.shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = ts.remove_long_seq(maxlen, xs, labels)
    xs = ts.cap_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    return ((_objects(xs[:idx]), np.array(labels[:idx])),
            (_objects(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word -> index map (indices before ``index_from`` is added).

    Example:
        >>> len(get_word_index())  # doctest: +SKIP
        30979
    """
    fpath = get_file(path, origin=BASE + "reuters_word_index.json", file_hash=WORD_INDEX_MD5)
    return json.loads(storage.read_bytes(fpath))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label.

    Example:
        >>> get_label_names()[3]
        'earn'
    """
    return LABEL_NAMES


__all__ = ["load_data", "get_word_index", "get_label_names"]
