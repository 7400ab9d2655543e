"""``Loss``: per-sample loss functions weighted and reduced Keras's way."""

from __future__ import annotations

from typing import Any, Callable

import torch

from savepoint.errors import ConfigError, ShapeError

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "auto", "mean")


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning one value per sample.

    ``reduction`` is Keras's: ``"sum_over_batch_size"`` (also ``"auto"``/``"mean"``) divides the
    sum of weighted losses by their number of elements, ``"sum"`` sums them, ``"none"`` returns
    them unreduced.

    Example:
        >>> class L1(Loss):
        ...     def call(self, y_true, y_pred): return (y_true - y_pred).abs().mean(-1)
        >>> float(L1()(torch.zeros(2, 1), torch.ones(2, 1)))
        1.0
    """

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None):
        if reduction not in REDUCTIONS:
            raise ConfigError(f"Invalid reduction '{reduction}'. Expected one of {REDUCTIONS}. "
                              f"Pass for example reduction='sum_over_batch_size'.")
        self.reduction = reduction
        self.name = name or _snake(type(self).__name__)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        # tf.keras 2 reads the Keras mask of the predictions here (Embedding(mask_zero)/Masking
        # through an RNN): masked steps leave the loss and the average (Loss.__call__).
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = y_pred if isinstance(y_pred, torch.Tensor) else torch.as_tensor(y_pred)
        y_true = _as_tensor(y_true, y_pred)
        values = self.call(y_true, y_pred)
        mask = self.valid_mask(y_true, y_pred)
        if in_mask is not None:
            mask = in_mask if mask is None else mask.bool() & in_mask.to(mask.device).bool()
        return reduce_values(values, sample_weight, self.reduction, mask)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Per-sample losses; subclasses implement it."""
        raise NotImplementedError

    def valid_mask(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor | None:
        """Which loss values count (``None``: all); masked values leave the batch average."""
        return None

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a plain function ``fn(y_true, y_pred, **kwargs)``.

    Example:
        >>> def l2(y_true, y_pred): return ((y_true - y_pred) ** 2).sum(-1)
        >>> float(LossFunctionWrapper(l2)(torch.zeros(2, 2), torch.ones(2, 2)))
        2.0
    """

    def __init__(self, fn: Callable, reduction: str = "sum_over_batch_size",
                 name: str | None = None, **kwargs: Any):
        super().__init__(reduction=reduction, name=name or fn.__name__)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def reduce_values(values: torch.Tensor, sample_weight: Any, reduction: str,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Weight per-sample values, then reduce as Keras does.

    ``sum_over_batch_size`` is ``sum(values * sample_weight) / values.numel()``; with a ``mask``
    only the valid elements are counted.

    Example:
        >>> reduce_values(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.0]), "sum_over_batch_size")
        tensor(0.5000)
    """
    if mask is not None:
        mask = mask.to(values.dtype)
        if reduction not in ("sum", "none"):
            # tf.keras 2's apply_valid_mask: total / valid, so a batch with every step masked
            # gives 0 * inf = NaN weights and a NaN loss, as in tf.keras (not a silent 0)
            mask = mask * (mask.numel() / mask.sum())
        sample_weight = mask if sample_weight is None else \
            align_weight(sample_weight, values) * mask
    if sample_weight is not None:
        values = values * align_weight(sample_weight, values)
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / values.numel() if values.numel() else values.sum()


def align_weight(sample_weight: Any, values: torch.Tensor) -> torch.Tensor:
    """``sample_weight`` as a tensor broadcast to ``values``' shape (Keras's squeeze/expand rule:
    a trailing size-1 axis is dropped, missing trailing axes are added).

    Example:
        >>> align_weight([[2.0], [3.0]], torch.zeros(2)).tolist()
        [2.0, 3.0]
    """
    sw = torch.as_tensor(sample_weight, device=values.device).to(values.dtype)
    if sw.dim() == values.dim() + 1 and sw.shape[-1] == 1:
        sw = sw.squeeze(-1)
    while sw.dim() < values.dim():
        sw = sw.unsqueeze(-1)
    try:
        return torch.broadcast_to(sw, values.shape)
    except RuntimeError:
        raise ShapeError(f"sample_weight of shape {tuple(sw.shape)} cannot be broadcast to the "
                         f"per-sample losses of shape {tuple(values.shape)}. Pass one weight "
                         f"per sample, shape ({values.shape[0] if values.dim() else 1},)."
                         ) from None


def match_rank(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """``y_true`` reshaped to ``y_pred``'s rank when they differ by a trailing size-1 axis
    (labels ``(n,)`` against outputs ``(n, 1)``), and cast to ``y_pred``'s float dtype.

    Example:
        >>> match_rank(torch.tensor([1, 2]), torch.zeros(2, 1)).shape
        torch.Size([2, 1])
    """
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    elif y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    dtype = y_pred.dtype if y_pred.is_floating_point() else torch.float32
    return y_true.to(dtype)


def _as_tensor(y_true: Any, y_pred: torch.Tensor) -> torch.Tensor:
    if isinstance(y_true, torch.Tensor):
        return y_true if y_true.device == y_pred.device else y_true.to(y_pred.device)
    return torch.as_tensor(y_true, device=y_pred.device)


def _snake(name: str) -> str:
    from savepoint.backend import snake_case
    return snake_case(name)
