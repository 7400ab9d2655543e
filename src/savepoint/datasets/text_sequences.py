"""What ``imdb`` and ``reuters`` do to their word-index sequences after loading, as tf.keras
does it: prepend ``start_char``, shift by ``index_from``, drop long sequences, cap the
vocabulary with ``oov_char``."""

from __future__ import annotations

from typing import Any, Sequence

from savepoint.errors import ConfigError


def check_kwargs(kwargs: dict) -> int | None:
    """Keras's old ``nb_words`` name for ``num_words``; anything else is refused.

    Example:
        >>> check_kwargs({"nb_words": 10})
        10
    """
    num_words = kwargs.pop("nb_words", None)
    if kwargs:
        raise ConfigError(f"Unrecognized keyword arguments: {kwargs}. Expected path, "
                          f"num_words, skip_top, maxlen, seed, start_char, oov_char, "
                          f"index_from or cache_dir.")
    return num_words


def remove_long_seq(maxlen: int, seq: Sequence[Any], label: Sequence[Any]) -> tuple[list, list]:
    """Keep the sequences shorter than ``maxlen`` (strictly) and their labels.

    Example:
        >>> remove_long_seq(2, [[1], [1, 2]], [0, 1])
        ([[1]], [0])
    """
    new_seq, new_label = [], []
    for x, y in zip(seq, label):
        if len(x) < maxlen:
            new_seq.append(x)
            new_label.append(y)
    return new_seq, new_label


def shift(xs: Sequence[Any], start_char: int | None, index_from: int) -> list[list[int]]:
    """``[start_char] + [w + index_from ...]`` per sequence (no start char when ``None``).

    Example:
        >>> shift([[1, 2]], 1, 3)
        [[1, 4, 5]]
    """
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def cap_vocabulary(xs: list[list[int]], num_words: int | None, skip_top: int,
                   oov_char: int | None) -> list[list[int]]:
    """Words outside ``[skip_top, num_words)`` become ``oov_char`` (dropped when ``None``);
    ``num_words`` defaults to the largest index seen.

    Example:
        >>> cap_vocabulary([[1, 5, 9]], 6, 0, 2)
        [[1, 5, 2]]
    """
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


__all__ = ["check_kwargs", "remove_long_seq", "shift", "cap_vocabulary"]
