"""``keras.initializers``: the weight initializers of ``savepoint.layers.initializers``.

Names added there later are found here too (module ``__getattr__``), plus Keras 2's
lower-case aliases of the classes.

Example:
    >>> import torch
    >>> tuple(GlorotUniform(seed=1)((2, 3)).shape)
    (2, 3)
"""

from typing import Any

from savepoint.layers import initializers as _impl
from savepoint.layers.initializers import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    try:
        return getattr(_impl, name)
    except AttributeError:
        raise AttributeError(f"module 'savepoint.initializers' has no attribute '{name}'") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(getattr(_impl, "__all__", dir(_impl))))


# Keras 2's lower-case aliases of the classes
zeros, ones, constant = Zeros, Ones, Constant  # noqa: F405
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal  # noqa: F405,E501
variance_scaling, orthogonal = VarianceScaling, Orthogonal  # noqa: F405
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal  # noqa: F405
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal  # noqa: F405,E501
