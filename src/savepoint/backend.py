"""Process-wide state and tensor plumbing: float type, device, unique names, array conversion."""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np
import torch

from savepoint.errors import DTypeError

_FLOATX = "float32"
_DEVICE: torch.device | None = None
_UIDS: dict[str, int] = {}
_LOCK = threading.Lock()


def floatx() -> str:
    """The default float type of new weights and inputs (``"float32"``).

    Example:
        >>> floatx()
        'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type (``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``).

    Example:
        >>> set_floatx("float32")
    """
    global _FLOATX
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise DTypeError(f"Expected floatx 'float16', 'bfloat16', 'float32' or 'float64'. "
                         f"Received: {value!r}.")
    _FLOATX = str(value)


def torch_dtype(name: str | torch.dtype | None) -> torch.dtype:
    """Map a Keras dtype name (``"float32"``) or a torch dtype to a torch dtype."""
    if name is None:
        name = _FLOATX
    if isinstance(name, torch.dtype):
        return name
    if str(name) in ("mixed_float16", "mixed_bfloat16"):
        name = "float32"  # a mixed dtype policy stores its variables in float32
    try:
        return getattr(torch, str(name))
    except AttributeError:
        raise DTypeError(f"Expected a dtype name such as 'float32'. Received: {name!r}.") from None


def set_device(device: str | torch.device | None) -> None:
    """Set the device new models are placed on (``"cpu"``, ``"cuda"``, ``None`` for automatic CPU).

    Example:
        >>> set_device("cpu")
    """
    global _DEVICE
    _DEVICE = torch.device(device) if device is not None else None


def get_device() -> torch.device:
    """The device new weights are created on (CPU unless ``set_device`` said otherwise)."""
    return _DEVICE if _DEVICE is not None else torch.device("cpu")


def snake_case(name: str) -> str:
    """``"BatchNormalization"`` -> ``"batch_normalization"``, as Keras names layers."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str, zero_based: bool = True) -> str:
    """Keras-style unique object names: ``dense``, ``dense_1`` ... (``input_1``, ``input_2`` ...
    when not ``zero_based``)."""
    with _LOCK:
        n = _UIDS.get(prefix, 0)
        _UIDS[prefix] = n + 1
    if not zero_based:
        return f"{prefix}_{n + 1}"
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session() -> None:
    """Reset the name counters, as ``tf.keras.backend.clear_session()`` does.

    Example:
        >>> clear_session()
    """
    with _LOCK:
        _UIDS.clear()


def to_tensor(value: Any, dtype: torch.dtype | None = None, device: torch.device | None = None,
              what: str = "input") -> torch.Tensor:
    """Convert numpy arrays, lists and tensors to a torch tensor; float64/ints become float32 when
    ``dtype`` is a float type, as Keras casts inputs. Strings and object arrays are refused."""
    if isinstance(value, torch.Tensor):
        t = value
    else:
        arr = np.asarray(value)
        if arr.dtype.kind in "OUSV":
            raise DTypeError(
                f"Expected {what} to be a numeric array or tensor. Received an array of dtype "
                f"{arr.dtype} (shape {arr.shape}). Convert strings to numbers first (for example "
                f"with a vocabulary lookup).")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and t.device != device:
        t = t.to(device)
    return t


def shape_tuple(shape: Any) -> tuple:
    """Normalize a shape given as int, list, tuple or torch.Size to a tuple (None kept)."""
    if shape is None:
        return None
    if isinstance(shape, int):
        return (shape,)
    return tuple(None if d is None else int(d) for d in shape)


# keras.backend's math and shape functions (K.mean, K.dot, K.int_shape ...). They shadow the
# builtins sum/max/min/abs/round/pow/any/all in this module, as tf.keras.backend does: code
# above this line must not call those builtins (use the ``builtins`` module if needed).
from savepoint.backend_tensors import *  # noqa: E402,F401,F403
from savepoint.backend_tensors import __all__ as _tensor_names  # noqa: E402
from savepoint.backend_math import *  # noqa: E402,F401,F403
from savepoint.backend_math import __all__ as _math_names  # noqa: E402
from savepoint.backend_nn import *  # noqa: E402,F401,F403
from savepoint.backend_nn import __all__ as _nn_names  # noqa: E402
from savepoint.backend_ops import *  # noqa: E402,F401,F403
from savepoint.backend_ops import __all__ as _ops_names  # noqa: E402
