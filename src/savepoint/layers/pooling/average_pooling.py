"""``AveragePooling1D``/``2D``/``3D``: the mean over each window; ``'same'`` leaves padded cells
out of the count, as TensorFlow does (the count is a cached per-shape tensor, not a pass over
a ones tensor each call).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from savepoint.layers.convolutional.conv_utils import explicit_padding, split_padding
from savepoint.layers.pooling.base_pooling import BasePooling
from savepoint.serialization import builtin

_AVG_FN = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _window_counts(size: int, pool: int, stride: int, before: int, out: int) -> list[int]:
    """How many real (unpadded) cells each output window of one dimension covers."""
    return [min(o * stride - before + pool, size) - max(o * stride - before, 0)
            for o in range(out)]


class AveragePooling(BasePooling):
    """N-d average pooling (TensorFlow's 'same' excludes padding from the mean).

    Example:
        >>> AveragePooling3D()(torch.ones(1, 4, 4, 4, 2)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        fn = _AVG_FN[self.rank]
        if self.padding == "valid":
            return fn(x, self.pool_size, self.strides)
        pads = explicit_padding(x.shape[2:], self.pool_size, self.strides, self.padding)
        padded, sym = split_padding(x, pads)
        # Zeros (padding) add nothing to a window's sum; rescale the mean by the real count.
        out = fn(padded, self.pool_size, self.strides, sym, count_include_pad=True)
        return out * self._scale(tuple(x.shape[2:]), tuple(out.shape[2:]), pads, out)

    def _scale(self, sizes: tuple, outs: tuple, pads: list, like: torch.Tensor) -> torch.Tensor:
        key = (sizes, like.device, like.dtype)
        cache = self.__dict__.setdefault("_scale_cache", {})
        if key not in cache:
            scale = torch.ones((), dtype=torch.float64)
            for d, (n, k, s, (b, _), o) in enumerate(zip(sizes, self.pool_size, self.strides,
                                                         pads, outs)):
                counts = torch.tensor(_window_counts(n, k, s, b, o), dtype=torch.float64)
                shape = [1] * len(sizes)
                shape[d] = o
                scale = scale * (k / counts).reshape(shape)
            scale = scale.to(device=like.device, dtype=like.dtype)
            # Under a trace (model.save's torch.export, ONNX, LiteRT) ``scale`` is a FakeTensor:
            # cached, it would outlive the trace and break the next eager call.
            if type(scale) is torch.Tensor:
                cache.clear()  # one entry: the last input shape (training shapes rarely vary)
                cache[key] = scale
            return scale
        return cache[key]


@builtin("layers", "AvgPool1D")
class AveragePooling1D(AveragePooling):
    """Average pooling over the steps of ``(batch, steps, features)``.

    Example:
        >>> AveragePooling1D(2, padding="same")(torch.ones(1, 5, 1))[0, :, 0].tolist()
        [1.0, 1.0, 1.0]
    """

    rank = 1


@builtin("layers", "average_pooling2d", "AvgPool2D")
class AveragePooling2D(AveragePooling):
    """Average pooling over height and width.

    Example:
        >>> AveragePooling2D()(torch.arange(16.).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    rank = 2


@builtin("layers", "AvgPool3D")
class AveragePooling3D(AveragePooling):
    """Average pooling over depth, height and width.

    Example:
        >>> AveragePooling3D(2, padding="same")(torch.ones(1, 3, 3, 3, 1)).shape
        torch.Size([1, 2, 2, 2, 1])
    """

    rank = 3


AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D

__all__ = ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D",
           "AvgPool3D"]
