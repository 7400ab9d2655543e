"""``keras.activations``: the activation functions of ``savepoint.layers.activations``.

Names added there later are found here too (module ``__getattr__``), plus Keras 2's
lower-case aliases of the classes.

Example:
    >>> import torch
    >>> float(relu(torch.tensor(-1.0)))
    0.0
"""

from typing import Any

from savepoint.layers import activations as _impl
from savepoint.layers.activations import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    try:
        return getattr(_impl, name)
    except AttributeError:
        raise AttributeError(f"module 'savepoint.activations' has no attribute '{name}'") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(getattr(_impl, "__all__", dir(_impl))))
