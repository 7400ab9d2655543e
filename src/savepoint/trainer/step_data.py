"""What a train/test step receives: Keras's packed ``data`` and ``class_weight`` sample weights."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """Keras's packing of a batch: ``x`` alone (``(x,)`` if ``x`` is a tuple or list),
    ``(x, y)``, or ``(x, y, sample_weight)``: what ``train_step(data)`` receives.

    Example:
        >>> pack_x_y_sample_weight(1, 2), pack_x_y_sample_weight([1, 2]), pack_x_y_sample_weight(1)
        ((1, 2), ([1, 2],), 1)
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """The inverse of ``pack_x_y_sample_weight``: always ``(x, y, sample_weight)``.

    Example:
        >>> unpack_x_y_sample_weight((1, 2)), unpack_x_y_sample_weight(1)
        ((1, 2, None), (1, None, None))
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ConfigError(f"Expected data to be a tuple of (x,), (x, y) or (x, y, sample_weight). "
                      f"Received a tuple of {len(data)} elements. Fix: yield at most three "
                      f"elements per batch.")


def class_weight_table(class_weight: Any) -> torch.Tensor | None:
    """``{class: weight}`` as a lookup tensor indexed by class id (Keras's check: the keys are
    exactly 0..n-1).

    Example:
        >>> class_weight_table({0: 1.0, 1: 2.0}).tolist()
        [1.0, 2.0]
    """
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight:
        raise ConfigError(f"Expected `class_weight` to be a non-empty dict mapping class ids to "
                          f"weights. Received: class_weight={class_weight!r}.")
    try:
        keys = sorted(int(k) for k in class_weight)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Expected `class_weight` keys to be integer class ids. Received: "
                          f"{sorted(map(repr, class_weight))}.") from e
    if keys != list(range(len(keys))):
        raise ConfigError(f"Expected `class_weight` to be a dict with keys from 0 to one less "
                          f"than the number of classes, found {class_weight}. Fix: give every "
                          f"class id from 0 to {max(keys)} a weight.")
    by_id = {int(k): float(v) for k, v in class_weight.items()}
    return torch.tensor([by_id[k] for k in keys], dtype=torch.float32)


def apply_class_weight(table: torch.Tensor, y: Any, sample_weight: Any) -> torch.Tensor:
    """Per-sample weights ``table[class of y]`` (times ``sample_weight`` when given): one-hot
    targets by their argmax, sparse ones by value, as tf.keras 2 does.

    Example:
        >>> apply_class_weight(torch.tensor([1.0, 3.0]), torch.tensor([1, 0]), None).tolist()
        [3.0, 1.0]
    """
    if not isinstance(y, torch.Tensor):
        raise ConfigError("`class_weight` is only supported for models with a single output "
                          "and one target array. Fix: pass sample_weight instead.")
    if y.dim() > 2:
        raise ConfigError(f"`class_weight` not supported for 3+ dimensional targets. Received "
                          f"targets of shape {tuple(y.shape)}. Fix: pass sample_weight instead.")
    if y.dim() == 2 and y.shape[1] > 1:
        classes = y.argmax(dim=1)
    else:
        classes = y.reshape(-1).to(torch.long)
    table = table.to(y.device)
    weights = table[classes.clamp(0, table.numel() - 1)]
    if sample_weight is not None:
        sample_weight = sample_weight.to(weights.dtype)
        weights = sample_weight * weights.reshape((-1,) + (1,) * (sample_weight.dim() - 1))
    return weights


__all__ = ["apply_class_weight", "class_weight_table", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]
