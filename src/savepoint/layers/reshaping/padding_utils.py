"""Normalizing the ``padding``/``cropping`` arguments of ZeroPadding and Cropping layers.

Example:
    >>> normalize_pairs(1, 2, "padding", "ZeroPadding2D")
    ((1, 1), (1, 1))
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError


MAX_PAD = (1 << 31) - 1  # past it a padding is a typo or a hostile config, not an image


def _nonneg(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PAD


def normalize_pairs(value: Any, rank: int, arg: str, layer: str) -> tuple[tuple[int, int], ...]:
    """Keras's forms (an int, ``rank`` ints, or ``rank`` pairs; for rank 1 one pair) -> pairs.

    Example:
        >>> normalize_pairs((1, 2), 2, "cropping", "Cropping2D")
        ((1, 1), (2, 2))
    """
    if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and \
            all(_nonneg(v) for v in value):
        return ((int(value[0]), int(value[1])),)
    if _nonneg(value):
        return ((value, value),) * rank
    if isinstance(value, (list, tuple)) and len(value) == rank:
        if all(_nonneg(v) for v in value):
            return tuple((v, v) for v in value)
        if all(isinstance(v, (list, tuple)) and len(v) == 2 and all(_nonneg(p) for p in v)
               for v in value):
            return tuple((int(v[0]), int(v[1])) for v in value)
    forms = "an int or a tuple of 2 ints" if rank == 1 else \
        f"an int, a tuple of {rank} ints or a tuple of {rank} tuples of 2 ints"
    raise ConfigError(f"{layer} expected `{arg}` to be {forms} (non-negative, at most "
                      f"{MAX_PAD}). Received: {arg}={value!r}.")


__all__ = ["normalize_pairs"]
