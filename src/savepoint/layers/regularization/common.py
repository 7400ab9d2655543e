"""Argument checks the noise layers share (a rate in [0, 1), a non-negative stddev)."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError


def check_rate(layer: str, rate: Any) -> float:
    """``rate`` as a float in [0, 1), else a ``ConfigError``.

    Example:
        >>> check_rate("GaussianDropout", 0.5)
        0.5
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ConfigError(f"{layer} expected `rate` to be a float in [0, 1). Received: "
                          f"rate={rate!r}. Fix: pass e.g. rate=0.1.")
    return float(rate)


def check_seed(layer: str, seed: Any) -> int | None:
    """``seed`` as an int or None."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{layer} expected `seed` to be an int or None. Received: "
                          f"seed={seed!r}.")
    return seed
