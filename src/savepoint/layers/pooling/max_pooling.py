"""``MaxPooling1D``/``2D``/``3D``: the maximum over each window (``'same'`` never picks padding).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from savepoint.layers.convolutional.conv_utils import explicit_padding, split_padding
from savepoint.layers.pooling.base_pooling import BasePooling
from savepoint.serialization import builtin

_MAX_FN = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


class MaxPooling(BasePooling):
    """N-d max pooling: the padded remainder is ``-inf``; torch pads the symmetric part itself.

    Example:
        >>> MaxPooling3D()(torch.zeros(1, 4, 4, 4, 2)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        pads = explicit_padding(x.shape[2:], self.pool_size, self.strides, self.padding)
        x, sym = split_padding(x, pads, value=float("-inf"))
        return _MAX_FN[self.rank](x, self.pool_size, self.strides, sym)


@builtin("layers", "MaxPool1D")
class MaxPooling1D(MaxPooling):
    """Max pooling over the steps of ``(batch, steps, features)``.

    Example:
        >>> MaxPooling1D(2)(torch.arange(6.).reshape(1, 6, 1))[0, :, 0].tolist()
        [1.0, 3.0, 5.0]
    """

    rank = 1


@builtin("layers", "max_pooling2d", "MaxPool2D")
class MaxPooling2D(MaxPooling):
    """Max pooling over height and width.

    Example:
        >>> MaxPooling2D()(torch.arange(16.).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

    rank = 2


@builtin("layers", "MaxPool3D")
class MaxPooling3D(MaxPooling):
    """Max pooling over depth, height and width.

    Example:
        >>> MaxPooling3D(2, padding="same")(torch.zeros(1, 3, 3, 3, 1)).shape
        torch.Size([1, 2, 2, 2, 1])
    """

    rank = 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D"]
