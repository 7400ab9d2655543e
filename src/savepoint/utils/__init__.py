"""Small user-facing utilities: seeding everything for reproducible runs."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) so two runs give bitwise-equal weights on CPU.

    Example:
        >>> set_random_seed(1234)
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        from savepoint.errors import ConfigError
        raise ConfigError(f"Expected seed to be an int. Received: {seed!r} of type "
                          f"{type(seed).__name__}.")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


__all__ = ["set_random_seed"]
