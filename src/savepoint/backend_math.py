"""``keras.backend``'s math, reduction and product functions on torch tensors.

Each function follows Keras 2's ``tf.keras.backend`` definition (``sqrt`` clips negatives to 0,
``clip`` raises ``max_value`` to ``min_value``) and
returns a torch tensor; numpy inputs are accepted. ``savepoint.backend`` re-exports them.

Example:
    >>> import savepoint.backend as K
    >>> K.sum(K.ones((2, 3)), axis=1).tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from savepoint.backend_tensors import _axis, _backend, _t, epsilon


def _reduce(fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    x = _t(x)
    if axis is None:
        out = fn(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_axis(axis), keepdim=keepdims)


def _floated(x: Any) -> torch.Tensor:
    x = _t(x)
    return x.to(_backend().torch_dtype(None)) if x.dtype == torch.bool else x


# ----- reductions ------------------------------------------------------------------------------
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes when ``None``).

    Example:
        >>> sum(torch.ones(2, 3)).item()
        6.0
    """
    return _reduce(torch.sum, x, axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean over ``axis``; booleans count as floatx.

    Example:
        >>> mean(torch.tensor([1.0, 3.0])).item()
        2.0
    """
    return _reduce(torch.mean, _floated(x), axis, keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Product over ``axis``.

    Example:
        >>> prod(torch.tensor([2.0, 3.0])).item()
        6.0
    """
    x = _t(x)
    if axis is None:
        return _reduce(torch.prod, x, None, keepdims)
    axes = [axis] if isinstance(axis, int) else list(axis)
    for a in sorted((a % x.ndim for a in axes), reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x


def max(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Maximum over ``axis``.

    Example:
        >>> max(torch.tensor([1.0, 5.0])).item()
        5.0
    """
    return _reduce(torch.amax, x, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Minimum over ``axis``.

    Example:
        >>> min(torch.tensor([1.0, 5.0])).item()
        1.0
    """
    return _reduce(torch.amin, x, axis, keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance over ``axis``.

    Example:
        >>> var(torch.tensor([1.0, 3.0])).item()
        1.0
    """
    x = _floated(x)
    m = mean(x, axis, keepdims=True)
    return mean(torch.square(x - m), axis, keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation over ``axis``.

    Example:
        >>> std(torch.tensor([1.0, 3.0])).item()
        1.0
    """
    return torch.sqrt(var(x, axis, keepdims))


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Logical or over ``axis``.

    Example:
        >>> any(torch.tensor([0, 1])).item()
        True
    """
    return _reduce(torch.any, _t(x).bool(), axis, keepdims) if axis is None or \
        isinstance(axis, int) else _t(x).bool().sum(dim=_axis(axis), keepdim=keepdims) > 0


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Logical and over ``axis``.

    Example:
        >>> all(torch.tensor([0, 1])).item()
        False
    """
    b = _t(x).bool()
    if axis is None or isinstance(axis, int):
        return _reduce(torch.all, b, axis, keepdims)
    return (~b).sum(dim=_axis(axis), keepdim=keepdims) == 0


def argmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Index of the maximum along ``axis`` (int64).

    Example:
        >>> argmax(torch.tensor([[1.0, 3.0, 2.0]])).tolist()
        [1]
    """
    return torch.argmax(_t(x), dim=axis)


def argmin(x: Any, axis: int = -1) -> torch.Tensor:
    """Index of the minimum along ``axis`` (int64).

    Example:
        >>> argmin(torch.tensor([[1.0, 3.0, 0.0]])).tolist()
        [2]
    """
    return torch.argmin(_t(x), dim=axis)


def cumsum(x: Any, axis: int = 0) -> torch.Tensor:
    """Cumulative sum along ``axis``.

    Example:
        >>> cumsum(torch.tensor([1, 2, 3])).tolist()
        [1, 3, 6]
    """
    return torch.cumsum(_t(x), dim=axis)


def cumprod(x: Any, axis: int = 0) -> torch.Tensor:
    """Cumulative product along ``axis``.

    Example:
        >>> cumprod(torch.tensor([1, 2, 3])).tolist()
        [1, 2, 6]
    """
    return torch.cumprod(_t(x), dim=axis)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    Example:
        >>> f"{logsumexp(torch.zeros(2)).item():.4f}"
        '0.6931'
    """
    x = _t(x)
    dims = tuple(range(x.ndim)) if axis is None else _axis(axis)
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


# ----- element-wise ----------------------------------------------------------------------------
def square(x: Any) -> torch.Tensor:
    """Element-wise square.

    Example:
        >>> square(torch.tensor([3.0])).tolist()
        [9.0]
    """
    return torch.square(_t(x))


def sqrt(x: Any) -> torch.Tensor:
    """Element-wise square root; negatives are clipped to 0 first, as Keras 2 does.

    Example:
        >>> sqrt(torch.tensor([4.0, -1.0])).tolist()
        [2.0, 0.0]
    """
    return torch.sqrt(torch.clamp(_floated(x), min=0))


def exp(x: Any) -> torch.Tensor:
    """Element-wise exponential.

    Example:
        >>> exp(torch.tensor([0.0])).tolist()
        [1.0]
    """
    return torch.exp(_t(x))


def log(x: Any) -> torch.Tensor:
    """Element-wise natural logarithm.

    Example:
        >>> log(torch.tensor([1.0])).tolist()
        [0.0]
    """
    return torch.log(_t(x))


def abs(x: Any) -> torch.Tensor:  # noqa: A001
    """Element-wise absolute value.

    Example:
        >>> abs(torch.tensor([-2.0])).tolist()
        [2.0]
    """
    return torch.abs(_t(x))


def sign(x: Any) -> torch.Tensor:
    """Element-wise sign.

    Example:
        >>> sign(torch.tensor([-2.0, 0.0])).tolist()
        [-1.0, 0.0]
    """
    return torch.sign(_t(x))


def round(x: Any) -> torch.Tensor:  # noqa: A001
    """Element-wise rounding, half to even.

    Example:
        >>> round(torch.tensor([0.5, 1.5])).tolist()
        [0.0, 2.0]
    """
    return torch.round(_t(x))


def pow(x: Any, a: Any) -> torch.Tensor:  # noqa: A001
    """Element-wise power.

    Example:
        >>> pow(torch.tensor([2.0]), 3).tolist()
        [8.0]
    """
    return torch.pow(_t(x), a)


def clip(x: Any, min_value: Any, max_value: Any) -> torch.Tensor:
    """Clip to ``[min_value, max_value]``; ``max_value < min_value`` becomes ``min_value``.

    Example:
        >>> clip(torch.tensor([-1.0, 5.0]), 0.0, 1.0).tolist()
        [0.0, 1.0]
    """
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and \
            max_value < min_value:
        max_value = min_value
    if min_value is None:
        min_value = -float("inf")
    if max_value is None:
        max_value = float("inf")
    return torch.clamp(_t(x), min=min_value, max=max_value)


def maximum(x: Any, y: Any) -> torch.Tensor:
    """Element-wise maximum.

    Example:
        >>> maximum(torch.tensor([1.0, 4.0]), torch.tensor([2.0, 3.0])).tolist()
        [2.0, 4.0]
    """
    x = _t(x)
    return torch.maximum(x, _t(y).to(x.dtype))


def minimum(x: Any, y: Any) -> torch.Tensor:
    """Element-wise minimum.

    Example:
        >>> minimum(torch.tensor([1.0, 4.0]), torch.tensor([2.0, 3.0])).tolist()
        [1.0, 3.0]
    """
    x = _t(x)
    return torch.minimum(x, _t(y).to(x.dtype))


def equal(x: Any, y: Any) -> torch.Tensor:
    """Element-wise ``x == y``.

    Example:
        >>> equal(torch.tensor([1, 2]), torch.tensor([1, 3])).tolist()
        [True, False]
    """
    return torch.eq(_t(x), _t(y))


def not_equal(x: Any, y: Any) -> torch.Tensor:
    """Element-wise ``x != y``.

    Example:
        >>> not_equal(torch.tensor([1, 2]), torch.tensor([1, 3])).tolist()
        [False, True]
    """
    return torch.ne(_t(x), _t(y))


def greater(x: Any, y: Any) -> torch.Tensor:
    """Element-wise ``x > y``.

    Example:
        >>> greater(torch.tensor([1, 4]), torch.tensor([2, 3])).tolist()
        [False, True]
    """
    return torch.gt(_t(x), _t(y))


def less(x: Any, y: Any) -> torch.Tensor:
    """Element-wise ``x < y``.

    Example:
        >>> less(torch.tensor([1, 4]), torch.tensor([2, 3])).tolist()
        [True, False]
    """
    return torch.lt(_t(x), _t(y))


def switch(condition: Any, then_expression: Any, else_expression: Any) -> torch.Tensor:
    """``then_expression`` where ``condition`` holds, else ``else_expression``.

    Example:
        >>> switch(torch.tensor([True, False]), torch.ones(2), torch.zeros(2)).tolist()
        [1.0, 0.0]
    """
    return torch.where(_t(condition).bool(), _t(then_expression), _t(else_expression))


def sin(x: Any) -> torch.Tensor:
    """Element-wise sine.

    Example:
        >>> sin(torch.tensor([0.0])).tolist()
        [0.0]
    """
    return torch.sin(_t(x))


def cos(x: Any) -> torch.Tensor:
    """Element-wise cosine.

    Example:
        >>> cos(torch.tensor([0.0])).tolist()
        [1.0]
    """
    return torch.cos(_t(x))


# ----- products --------------------------------------------------------------------------------
def dot(x: Any, y: Any) -> torch.Tensor:
    """``np.dot`` semantics: ``x``'s last axis with ``y``'s second-to-last (or only) axis.

    Example:
        >>> tuple(dot(torch.ones(2, 3, 4), torch.ones(5, 4, 6)).shape)
        (2, 3, 5, 6)
    """
    x, y = _t(x), _t(y)
    return torch.tensordot(x, y, dims=([x.ndim - 1], [y.ndim - 2 if y.ndim >= 2 else 0]))


def batch_dot(x: Any, y: Any, axes: Any = None) -> torch.Tensor:
    """Per-sample dot product over ``axes`` (Keras 2 defaults: ``x``'s last axis with ``y``'s
    second-to-last, or last when ``y`` is 2-D); a 1-D result becomes ``(batch, 1)``.

    Example:
        >>> tuple(batch_dot(torch.ones(32, 20, 1), torch.ones(32, 30, 20), axes=(1, 2)).shape)
        (32, 1, 30)
    """
    x, y = _t(x), _t(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    ax, ay = (a % n for a, n in zip(axes, (x.ndim, y.ndim)))
    xm, ym = torch.movedim(x, ax, -1), torch.movedim(y, ay, 1)
    b, k = x.shape[0], x.shape[ax]
    rest_x, rest_y = tuple(xm.shape[1:-1]), tuple(ym.shape[2:])
    out = torch.bmm(xm.reshape(b, -1, k), ym.reshape(b, k, -1)).reshape((b,) + rest_x + rest_y)
    return out.unsqueeze(1) if out.ndim == 1 else out


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "Any", "Sequence", "torch", "F", "epsilon")]
