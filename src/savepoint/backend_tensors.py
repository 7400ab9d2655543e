"""``keras.backend``'s configuration, value, creation and shape functions on torch tensors.

Numpy inputs are accepted and keep their dtype; results are torch tensors (``get_value`` gives
numpy). ``savepoint.backend`` re-exports every name here.

Example:
    >>> import savepoint.backend as K
    >>> K.int_shape(K.ones((2, 3)))
    (2, 3)
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from savepoint.errors import ConfigError

_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_LEARNING_PHASE = 0


def _backend() -> Any:
    # savepoint.backend re-exports this module at its end: reaching it at call time, not import
    # time, keeps the module-level import graph acyclic
    from savepoint import backend
    return backend


def _t(x: Any) -> torch.Tensor:
    """A tensor from ``x`` (numpy keeps its dtype; Python floats become floatx)."""
    if isinstance(x, torch.Tensor):
        return x
    if hasattr(x, "value") and isinstance(getattr(x, "value"), torch.Tensor):
        return x.value  # a savepoint Variable
    if isinstance(x, (float, int, bool, list, tuple)) and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype.kind == "f":
            arr = arr.astype(_backend().floatx())
        return torch.from_numpy(np.ascontiguousarray(arr))
    return torch.as_tensor(np.asarray(x))


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


# ----- configuration ---------------------------------------------------------------------------
def epsilon() -> float:
    """The fuzz factor used in numeric expressions (``1e-7``).

    Example:
        >>> epsilon()
        1e-07
    """
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor ``epsilon()`` returns.

    Example:
        >>> set_epsilon(1e-7)
    """
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"``: savepoint's images are ``(batch, height, width, channels)``.

    Example:
        >>> image_data_format()
        'channels_last'
    """
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Only ``"channels_last"`` is supported (savepoint's layers are channels-last).

    Example:
        >>> set_image_data_format("channels_last")
    """
    if data_format != "channels_last":
        raise ConfigError(f"Expected data_format 'channels_last' (savepoint's layers are "
                          f"channels-last). Received: {data_format!r}. Fix: transpose your "
                          f"images to (batch, height, width, channels).")


def learning_phase() -> int:
    """0 (inference) unless ``set_learning_phase(1)``; layers read ``training=`` instead.

    Example:
        >>> learning_phase()
        0
    """
    return _LEARNING_PHASE


def set_learning_phase(value: int) -> None:
    """Set the value ``learning_phase()`` returns (0 or 1).

    Example:
        >>> set_learning_phase(0)
    """
    global _LEARNING_PHASE
    if value not in (0, 1):
        raise ConfigError(f"Expected learning phase 0 or 1. Received: {value!r}.")
    _LEARNING_PHASE = int(value)


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[None]:
    """A no-op context (torch has no name scopes), so Keras code using it runs.

    Example:
        >>> with name_scope("block"): pass
    """
    yield


# ----- values ----------------------------------------------------------------------------------
def variable(value: Any, dtype: str | None = None, name: str | None = None,
             constraint: Any = None) -> torch.Tensor:
    """A new tensor holding ``value`` (floatx unless ``dtype``), settable with ``set_value``.

    Example:
        >>> variable([1, 2]).dtype
        torch.float32
    """
    return torch.tensor(np.asarray(get_value(value) if isinstance(value, torch.Tensor)
                                   else value), dtype=_backend().torch_dtype(dtype))


def constant(value: Any, dtype: str | None = None, shape: Sequence[int] | None = None,
             name: str | None = None) -> torch.Tensor:
    """A constant tensor (a scalar ``value`` with ``shape`` is broadcast).

    Example:
        >>> constant(2.0, shape=(2,)).tolist()
        [2.0, 2.0]
    """
    t = torch.tensor(np.asarray(value), dtype=_backend().torch_dtype(dtype))
    return t.expand(tuple(shape)).clone() if shape is not None else t


def get_value(x: Any) -> np.ndarray:
    """The value of a tensor, a savepoint ``Variable`` or an array, as numpy.

    Example:
        >>> get_value(torch.ones(2)).tolist()
        [1.0, 1.0]
    """
    if hasattr(x, "numpy") and not isinstance(x, torch.Tensor):
        return np.asarray(x.numpy())
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


eval = get_value  # noqa: A001  (Keras 2's K.eval)


def batch_get_value(tensors: Sequence[Any]) -> list[np.ndarray]:
    """``get_value`` of each element.

    Example:
        >>> [v.tolist() for v in batch_get_value([torch.zeros(1)])]
        [[0.0]]
    """
    return [get_value(x) for x in tensors]


def set_value(x: Any, value: Any) -> None:
    """Assign ``value`` to a tensor or a savepoint ``Variable`` in place (same shape).

    Example:
        >>> v = variable([1.0, 2.0]); set_value(v, [3.0, 4.0]); v.tolist()
        [3.0, 4.0]
    """
    if hasattr(x, "assign") and not isinstance(x, torch.Tensor):
        x.assign(value)  # a savepoint Variable, or optimizer.lr (a LearningRateValue)
        return
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"Expected a tensor or a Variable to set. Received: "
                          f"{type(x).__name__}. Fix: for an optimizer's learning rate assign "
                          f"`optimizer.learning_rate = value`.")
    new = torch.as_tensor(np.asarray(value), dtype=x.dtype, device=x.device)
    if tuple(new.shape) != tuple(x.shape):
        raise ConfigError(f"Expected a value of shape {tuple(x.shape)}. Received shape "
                          f"{tuple(new.shape)}.")
    with torch.no_grad():
        x.copy_(new)


def batch_set_value(tuples: Sequence[tuple[Any, Any]]) -> None:
    """``set_value`` for each ``(tensor, value)`` pair.

    Example:
        >>> v = variable([0.0]); batch_set_value([(v, [1.0])]); v.tolist()
        [1.0]
    """
    for x, value in tuples:
        set_value(x, value)


def zeros(shape: Sequence[int], dtype: str | None = None, name: str | None = None) -> torch.Tensor:
    """A tensor of zeros (floatx unless ``dtype``).

    Example:
        >>> zeros((2,)).tolist()
        [0.0, 0.0]
    """
    return torch.zeros(tuple(shape), dtype=_backend().torch_dtype(dtype))


def ones(shape: Sequence[int], dtype: str | None = None, name: str | None = None) -> torch.Tensor:
    """A tensor of ones (floatx unless ``dtype``).

    Example:
        >>> ones((1, 2)).tolist()
        [[1.0, 1.0]]
    """
    return torch.ones(tuple(shape), dtype=_backend().torch_dtype(dtype))


def eye(size: int, dtype: str | None = None, name: str | None = None) -> torch.Tensor:
    """An identity matrix.

    Example:
        >>> eye(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    return torch.eye(size, dtype=_backend().torch_dtype(dtype))


def zeros_like(x: Any, dtype: str | None = None, name: str | None = None) -> torch.Tensor:
    """Zeros of ``x``'s shape.

    Example:
        >>> zeros_like(torch.ones(2)).tolist()
        [0.0, 0.0]
    """
    x = _t(x)
    return torch.zeros_like(x, dtype=_backend().torch_dtype(dtype) if dtype else x.dtype)


def ones_like(x: Any, dtype: str | None = None, name: str | None = None) -> torch.Tensor:
    """Ones of ``x``'s shape.

    Example:
        >>> ones_like(torch.zeros(2)).tolist()
        [1.0, 1.0]
    """
    x = _t(x)
    return torch.ones_like(x, dtype=_backend().torch_dtype(dtype) if dtype else x.dtype)


def random_uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0,
                   dtype: str | None = None, seed: int | None = None) -> torch.Tensor:
    """Uniform random values in ``[minval, maxval)`` (torch's RNG, or ``seed``'s).

    Example:
        >>> tuple(random_uniform((2, 3)).shape)
        (2, 3)
    """
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    out = torch.rand(tuple(shape), generator=gen, dtype=_backend().torch_dtype(dtype))
    return out * (maxval - minval) + minval


def random_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0,
                  dtype: str | None = None, seed: int | None = None) -> torch.Tensor:
    """Normal random values (torch's RNG, or ``seed``'s).

    Example:
        >>> tuple(random_normal((2,)).shape)
        (2,)
    """
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    out = torch.randn(tuple(shape), generator=gen, dtype=_backend().torch_dtype(dtype))
    return out * stddev + mean


# ----- shapes ----------------------------------------------------------------------------------
def int_shape(x: Any) -> tuple:
    """The shape as a tuple of ints (``None`` for unknown dimensions of symbolic tensors).

    Example:
        >>> int_shape(np.zeros((2, 3)))
        (2, 3)
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        return tuple(np.shape(x))
    return tuple(None if d is None else int(d) for d in shape)


def shape(x: Any) -> torch.Tensor:
    """The shape as an int32 tensor (Keras's dynamic shape).

    Example:
        >>> shape(torch.zeros(2, 3)).tolist()
        [2, 3]
    """
    return torch.tensor(tuple(_t(x).shape), dtype=torch.int32)


def ndim(x: Any) -> int:
    """The number of axes.

    Example:
        >>> ndim(np.zeros((2, 3)))
        2
    """
    return len(int_shape(x))


def dtype(x: Any) -> str:
    """The dtype name (``"float32"``).

    Example:
        >>> dtype(torch.zeros(1))
        'float32'
    """
    return str(_t(x).dtype).replace("torch.", "")


def count_params(x: Any) -> int:
    """The number of elements.

    Example:
        >>> count_params(torch.zeros(2, 3))
        6
    """
    return int(np.prod(int_shape(x)))


def cast(x: Any, dtype: str) -> torch.Tensor:
    """``x`` converted to ``dtype``.

    Example:
        >>> cast(np.array([1.7]), "int32").tolist()
        [1]
    """
    return _t(x).to(_backend().torch_dtype(dtype))


def reshape(x: Any, shape: Sequence[int]) -> torch.Tensor:
    """``x`` with a new shape (one ``-1`` allowed).

    Example:
        >>> tuple(reshape(torch.zeros(6), (2, -1)).shape)
        (2, 3)
    """
    return _t(x).reshape(tuple(shape))


def permute_dimensions(x: Any, pattern: Sequence[int]) -> torch.Tensor:
    """``x`` with its axes reordered by ``pattern``.

    Example:
        >>> tuple(permute_dimensions(torch.zeros(2, 3, 4), (2, 0, 1)).shape)
        (4, 2, 3)
    """
    return _t(x).permute(*pattern)


def transpose(x: Any) -> torch.Tensor:
    """All axes reversed.

    Example:
        >>> tuple(transpose(torch.zeros(2, 3)).shape)
        (3, 2)
    """
    x = _t(x)
    return x.permute(*reversed(range(x.ndim)))


def expand_dims(x: Any, axis: int = -1) -> torch.Tensor:
    """``x`` with a new axis of size 1 at ``axis``.

    Example:
        >>> tuple(expand_dims(torch.zeros(2)).shape)
        (2, 1)
    """
    return _t(x).unsqueeze(axis)


def squeeze(x: Any, axis: int) -> torch.Tensor:
    """``x`` without the size-1 axis ``axis``.

    Example:
        >>> tuple(squeeze(torch.zeros(2, 1), 1).shape)
        (2,)
    """
    return _t(x).squeeze(axis)


def flatten(x: Any) -> torch.Tensor:
    """``x`` as one axis.

    Example:
        >>> tuple(flatten(torch.zeros(2, 3)).shape)
        (6,)
    """
    return _t(x).reshape(-1)


def batch_flatten(x: Any) -> torch.Tensor:
    """``x`` as ``(batch, -1)``.

    Example:
        >>> tuple(batch_flatten(torch.zeros(2, 3, 4)).shape)
        (2, 12)
    """
    x = _t(x)
    return x.reshape(x.shape[0], -1)


def concatenate(tensors: Sequence[Any], axis: int = -1) -> torch.Tensor:
    """Join tensors along ``axis``.

    Example:
        >>> concatenate([torch.zeros(1, 2), torch.ones(1, 1)]).tolist()
        [[0.0, 0.0, 1.0]]
    """
    return torch.cat([_t(t) for t in tensors], dim=axis)


def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    """Stack tensors along a new axis.

    Example:
        >>> tuple(stack([torch.zeros(2), torch.zeros(2)]).shape)
        (2, 2)
    """
    return torch.stack([_t(t) for t in x], dim=axis)


def tile(x: Any, n: Sequence[int]) -> torch.Tensor:
    """Repeat ``x`` ``n[i]`` times along axis ``i``.

    Example:
        >>> tile(torch.tensor([1, 2]), [2]).tolist()
        [1, 2, 1, 2]
    """
    return _t(x).repeat(*([n] if isinstance(n, int) else n))


def repeat_elements(x: Any, rep: int, axis: int) -> torch.Tensor:
    """Repeat each element ``rep`` times along ``axis`` (``np.repeat``).

    Example:
        >>> repeat_elements(torch.tensor([1, 2]), 2, 0).tolist()
        [1, 1, 2, 2]
    """
    return torch.repeat_interleave(_t(x), rep, dim=axis)


def repeat(x: Any, n: int) -> torch.Tensor:
    """``(batch, dim)`` -> ``(batch, n, dim)``.

    Example:
        >>> tuple(repeat(torch.zeros(2, 3), 4).shape)
        (2, 4, 3)
    """
    return _t(x).unsqueeze(1).repeat(1, n, 1)


def one_hot(indices: Any, num_classes: int) -> torch.Tensor:
    """Integer ``indices`` -> one-hot floatx vectors along a new last axis.

    Example:
        >>> one_hot(torch.tensor([1]), 3).tolist()
        [[0.0, 1.0, 0.0]]
    """
    out = torch.nn.functional.one_hot(_t(indices).long(), num_classes)
    return out.to(_backend().torch_dtype(None))


def gather(reference: Any, indices: Any) -> torch.Tensor:
    """Rows of ``reference`` picked by ``indices``.

    Example:
        >>> gather(torch.tensor([5, 6, 7]), torch.tensor([2, 0])).tolist()
        [7, 5]
    """
    return _t(reference)[_t(indices).long()]


__all__ = [n for n, v in list(globals().items()) if not n.startswith("_") and callable(v)
           and getattr(v, "__module__", None) == __name__]
