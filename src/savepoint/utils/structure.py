"""Nested batch structures (tensors in lists, tuples and dicts) joined back into numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.errors import ShapeError


def concat_batches(batches: list) -> Any:
    """Concatenate per-batch outputs along the batch axis, keeping their nesting, as numpy.

    Example:
        >>> concat_batches([torch.zeros(2, 1), torch.ones(1, 1)]).ravel().tolist()
        [0.0, 0.0, 1.0]
    """
    first = batches[0]
    if isinstance(first, torch.Tensor):
        out = _join_tensors(batches)
        # numpy has no bfloat16 (a mixed_bfloat16 policy's outputs): widen to float32
        out = (out.float() if out.dtype == torch.bfloat16 else out).cpu().numpy()
        return out.item() if out.ndim == 0 else out  # tf.keras: a lone scalar as a Python number
    if isinstance(first, (list, tuple)):
        return type(first)(concat_batches([b[i] for b in batches]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: concat_batches([b[k] for b in batches]) for k in first}
    return np.asarray(batches)


def _join_tensors(batches: list) -> torch.Tensor:
    """tf.keras 2's ``potentially_ragged_concat``: one batch is returned as it is, per-batch
    scalars (a ``reduce_sum`` output) are stacked, anything else is concatenated on axis 0.

    Example:
        >>> _join_tensors([torch.tensor(1.0), torch.tensor(2.0)]).tolist()
        [1.0, 2.0]
    """
    if len(batches) == 1:
        return batches[0]
    if all(b.dim() == 0 for b in batches):
        return torch.stack(batches)
    inner = {tuple(b.shape[1:]) for b in batches}
    if len(inner) > 1 or len({b.dim() for b in batches}) > 1:
        raise ShapeError(
            f"predict() expected every batch's output to have the same shape after the batch "
            f"axis. Received {sorted(inner, key=str)} (tf.keras returns a RaggedTensor here; "
            f"numpy has none). Fix: pad the outputs to one size in the model, or call "
            f"predict_on_batch / the model on each batch.")
    return torch.cat(batches)
