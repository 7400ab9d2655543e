"""The lower-case merge functions (``concatenate``, ``add``, ``dot``...): each builds its layer
and calls it on the list of inputs, as ``keras.layers.add([x, y])`` does."""

from __future__ import annotations

from typing import Any

from savepoint.layers.merging.concatenate import Concatenate
from savepoint.layers.merging.dot import Dot
from savepoint.layers.merging.elementwise import (Add, Average, Maximum, Minimum, Multiply,
                                                  Subtract)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis)(inputs)``.

    Example:
        >>> import torch
        >>> concatenate([torch.ones(1, 2), torch.ones(1, 3)]).shape
        torch.Size([1, 5])
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs: list, **kwargs: Any) -> Any:
    """``Add()(inputs)``. ``add([torch.ones(1), torch.ones(1)])`` is ``tensor([2.])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> Any:
    """``Subtract()(inputs)``; exactly two inputs."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> Any:
    """``Multiply()(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> Any:
    """``Average()(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> Any:
    """``Maximum()(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> Any:
    """``Minimum()(inputs)``."""
    return Minimum(**kwargs)(inputs)


def dot(inputs: list, axes: int | list[int], normalize: bool = False, **kwargs: Any) -> Any:
    """``Dot(axes, normalize)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


__all__ = ["add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
           "subtract"]
