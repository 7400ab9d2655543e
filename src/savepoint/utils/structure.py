"""Nested batch structures (tensors in lists, tuples and dicts) joined back into numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def concat_batches(batches: list) -> Any:
    """Concatenate per-batch outputs along the batch axis, keeping their nesting, as numpy.

    Example:
        >>> concat_batches([torch.zeros(2, 1), torch.ones(1, 1)]).ravel().tolist()
        [0.0, 0.0, 1.0]
    """
    first = batches[0]
    if isinstance(first, torch.Tensor):
        out = torch.cat(batches)
        # numpy has no bfloat16 (a mixed_bfloat16 policy's outputs): widen to float32
        return (out.float() if out.dtype == torch.bfloat16 else out).cpu().numpy()
    if isinstance(first, (list, tuple)):
        return type(first)(concat_batches([b[i] for b in batches]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: concat_batches([b[k] for b in batches]) for k in first}
    return np.asarray(batches)
