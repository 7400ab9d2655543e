"""Normalization layers (Keras's ``layers/normalization`` family): BatchNormalization,
LayerNormalization, GroupNormalization and UnitNormalization, one module each.

Example:
    >>> import torch
    >>> LayerNormalization()(torch.tensor([[1.0, 3.0]])).round().tolist()
    [[-1.0, 1.0]]
"""

from savepoint.layers.normalization.batch_normalization import BatchNormalization
from savepoint.layers.normalization.group_normalization import GroupNormalization
from savepoint.layers.normalization.layer_normalization import LayerNormalization
from savepoint.layers.normalization.unit_normalization import UnitNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]
