"""Keras's array helpers for labels and features: ``to_categorical`` and ``normalize``."""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.errors import ConfigError


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """Class vector (integers) -> one-hot matrix, as ``tf.keras.utils.to_categorical``.

    A trailing axis of size 1 is dropped first (``(n, 1)`` labels give ``(n, num_classes)``);
    ``num_classes`` defaults to ``max(y) + 1``.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = np.array(_numpy(y), dtype="int")
    if y.size and (y.min() < 0):
        raise ConfigError(f"Expected class indices >= 0. Received a minimum of {y.min()}. "
                          f"Fix: map labels to 0..num_classes-1 first.")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if num_classes is None:
        num_classes = int(np.max(y)) + 1 if y.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or \
            num_classes < 0:
        raise ConfigError(f"Expected num_classes to be a non-negative int. Received: "
                          f"num_classes={num_classes!r}.")
    if y.size and int(np.max(y)) >= num_classes:
        raise ConfigError(f"Expected class indices < num_classes={num_classes}. Received a "
                          f"maximum of {int(np.max(y))}. Fix: pass a larger num_classes.")
    n = y.shape[0]
    categorical = np.zeros((n, int(num_classes)), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (int(num_classes),))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Divide ``x`` by its ``order``-norm along ``axis`` (a zero norm is left as zero).

    Numpy in, numpy out; a torch tensor in gives a torch tensor out.

    Example:
        >>> normalize(np.array([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """
    import torch
    if isinstance(x, torch.Tensor):
        norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
        return x / torch.where(norm == 0, torch.ones_like(norm), norm)
    x = np.asarray(x)
    l2 = np.atleast_1d(np.linalg.norm(x, order, axis))
    l2[l2 == 0] = 1
    return x / np.expand_dims(l2, axis)


def _numpy(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


__all__ = ["to_categorical", "normalize"]
