"""``keras.regularizers``: the weight regularizers of ``savepoint.layers.regularizers``.

Names added there later are found here too (module ``__getattr__``), plus Keras 2's
lower-case aliases of the classes.

Example:
    >>> import torch
    >>> type(get("l2")).__name__
    'L2'
"""

from typing import Any

from savepoint.layers import regularizers as _impl
from savepoint.layers.regularizers import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    try:
        return getattr(_impl, name)
    except AttributeError:
        raise AttributeError(f"module 'savepoint.regularizers' has no attribute '{name}'") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(getattr(_impl, "__all__", dir(_impl))))


l1, l2, l1_l2 = L1, L2, L1L2  # noqa: F405  (Keras 2's lower-case aliases)
