"""``keras.backend``'s activation and loss functions on torch tensors (Keras 2 definitions).

The cross-entropies clip to ``epsilon()`` as tf.keras 2 does; numpy inputs are accepted.
``savepoint.backend`` re-exports them.

Example:
    >>> import savepoint.backend as K
    >>> K.relu(K.constant([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from savepoint.backend_math import sum  # noqa: A004 (keras.backend.sum, as in tf.keras)
from savepoint.backend_tensors import _axis, _t, epsilon  # noqa: F401


# ----- activations -----------------------------------------------------------------------------
def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Softmax along ``axis``.

    Example:
        >>> softmax(torch.zeros(1, 2)).tolist()
        [[0.5, 0.5]]
    """
    return torch.softmax(_t(x), dim=axis)


def relu(x: Any, alpha: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> torch.Tensor:
    """Keras 2's relu: ``x`` above ``threshold``, ``alpha * (x - threshold)`` below, capped at
    ``max_value``.

    Example:
        >>> relu(torch.tensor([-1.0, 2.0]), alpha=0.1).tolist()
        [-0.10000000149011612, 2.0]
    """
    x = _t(x)
    if alpha == 0 and threshold == 0:
        out = torch.relu(x)
    else:
        out = torch.where(x > threshold, x, alpha * (x - threshold) if alpha else
                          torch.zeros_like(x))
    return torch.clamp(out, max=max_value) if max_value is not None else out


def sigmoid(x: Any) -> torch.Tensor:
    """Element-wise sigmoid.

    Example:
        >>> sigmoid(torch.zeros(1)).tolist()
        [0.5]
    """
    return torch.sigmoid(_t(x))


def hard_sigmoid(x: Any) -> torch.Tensor:
    """Keras 2's piecewise-linear sigmoid ``clip(0.2 x + 0.5, 0, 1)``.

    Example:
        >>> hard_sigmoid(torch.tensor([0.0, 5.0])).tolist()
        [0.5, 1.0]
    """
    return torch.clamp(0.2 * _t(x) + 0.5, 0.0, 1.0)


def tanh(x: Any) -> torch.Tensor:
    """Element-wise tanh.

    Example:
        >>> tanh(torch.zeros(1)).tolist()
        [0.0]
    """
    return torch.tanh(_t(x))


def softplus(x: Any) -> torch.Tensor:
    """``log(1 + exp(x))``.

    Example:
        >>> f"{softplus(torch.zeros(1)).item():.4f}"
        '0.6931'
    """
    return F.softplus(_t(x))


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit.

    Example:
        >>> elu(torch.tensor([1.0])).tolist()
        [1.0]
    """
    return F.elu(_t(x), alpha=alpha)


def l2_normalize(x: Any, axis: Any = None) -> torch.Tensor:
    """``x / sqrt(max(sum(x ** 2, axis), 1e-12))``.

    Example:
        >>> l2_normalize(torch.tensor([3.0, 4.0])).tolist()
        [0.6000000238418579, 0.800000011920929]
    """
    x = _t(x)
    square_sum = sum(torch.square(x), axis, keepdims=True)
    return x * torch.rsqrt(torch.clamp(square_sum, min=1e-12))


# ----- losses ----------------------------------------------------------------------------------
def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> torch.Tensor:
    """Keras 2's categorical cross-entropy per sample: probabilities are rescaled to sum to 1
    and clipped to ``[eps, 1 - eps]``.

    Example:
        >>> loss = categorical_crossentropy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        >>> f"{loss.item():.4f}"
        '0.6931'
    """
    target, output = _t(target), _t(output)
    if from_logits:
        return -(target * torch.log_softmax(output, dim=axis)).sum(dim=axis)
    output = output / output.sum(dim=axis, keepdim=True)
    eps = epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    return -(target * torch.log(output)).sum(dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> torch.Tensor:
    """Categorical cross-entropy with integer targets.

    Example:
        >>> loss = sparse_categorical_crossentropy(torch.tensor([1]), torch.tensor([[0.5, 0.5]]))
        >>> f"{loss.item():.4f}"
        '0.6931'
    """
    output = _t(output)
    target = _t(target).long()
    if target.ndim == output.ndim:
        target = target.squeeze(axis)
    one = F.one_hot(target, output.shape[axis]).to(output.dtype)
    if axis not in (-1, output.ndim - 1):
        one = torch.movedim(one, -1, axis)
    return categorical_crossentropy(one, output, from_logits, axis)


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Keras 2's element-wise binary cross-entropy: probabilities clipped to
    ``[eps, 1 - eps]``, then ``-(t log(p + eps) + (1 - t) log(1 - p + eps))``.

    Example:
        >>> f"{binary_crossentropy(torch.tensor([1.0]), torch.tensor([0.5])).item():.4f}"
        '0.6931'
    """
    target, output = _t(target), _t(output)
    target = target.to(output.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    bce = target * torch.log(output + eps) + (1 - target) * torch.log(1 - output + eps)
    return -bce

__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "annotations", "Any", "Sequence", "torch", "F", "epsilon", "sum")]
