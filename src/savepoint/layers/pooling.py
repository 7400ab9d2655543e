"""Pooling layers: MaxPooling2D, AveragePooling2D (TF padding) and global average pooling."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.conv import (check_rank, normalize_data_format, normalize_padding,
                                   normalize_tuple, output_length, pad_same_nchw)
from savepoint.saving.serialization import builtin


class _Pooling2D(Layer):
    """Shared arguments, shapes and configs of the 2-D pooling layers."""

    def __init__(self, pool_size: int | tuple = (2, 2), strides: int | tuple | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", kind)
        self.strides = self.pool_size if strides is None else \
            normalize_tuple(strides, 2, "strides", kind)
        self.padding = normalize_padding(padding, kind)
        self.data_format = normalize_data_format(data_format, kind)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), 4)
        x = inputs.permute(0, 3, 1, 2) if self.data_format == "channels_last" else inputs
        out = self._pool(x)
        return out.permute(0, 2, 3, 1) if self.data_format == "channels_last" else out

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, 4)
        last = self.data_format == "channels_last"
        spatial = input_shape[1:3] if last else input_shape[2:4]
        rows, cols = (output_length(s, k, st, self.padding)
                      for s, k, st in zip(spatial, self.pool_size, self.strides))
        if last:
            return (input_shape[0], rows, cols, input_shape[3])
        return (input_shape[0], input_shape[1], rows, cols)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


@builtin("layers", "max_pooling2d", "MaxPool2D")
class MaxPooling2D(_Pooling2D):
    """The maximum over each ``pool_size`` window (``'same'`` pads with -inf, as TF).

    Example:
        >>> MaxPooling2D()(torch.arange(16.).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            x = pad_same_nchw(x, self.pool_size, self.strides, value=float("-inf"))
        return F.max_pool2d(x, self.pool_size, self.strides)


@builtin("layers", "average_pooling2d", "AvgPool2D")
class AveragePooling2D(_Pooling2D):
    """The mean over each window; with ``'same'`` padded cells are left out of the mean (TF).

    Example:
        >>> AveragePooling2D()(torch.arange(16.).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "valid":
            return F.avg_pool2d(x, self.pool_size, self.strides)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = F.avg_pool2d(pad_same_nchw(x, self.pool_size, self.strides), self.pool_size,
                            self.strides, divisor_override=1)
        counts = F.avg_pool2d(pad_same_nchw(ones, self.pool_size, self.strides), self.pool_size,
                              self.strides, divisor_override=1)
        return sums / counts


class _GlobalAveragePooling(Layer):
    """Mean over the steps (1-D) or the spatial dimensions (2-D), optionally keeping them."""

    _rank = 3

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _axes(self) -> tuple[int, ...]:
        spatial = self._rank - 2
        start = 1 if self.data_format == "channels_last" else 2
        return tuple(range(start, start + spatial))

    def _check(self, shape: tuple) -> None:
        if len(shape) != self._rank:
            raise ShapeError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                f"ndim={self._rank}, found ndim={len(shape)}. Full shape received: "
                f"{tuple(shape)}.")

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check(input_shape)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


@builtin("layers", "global_average_pooling1d", "GlobalAvgPool1D")
class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Mean over the steps of ``(batch, steps, features)``; a ``mask`` leaves masked steps out.

    Example:
        >>> GlobalAveragePooling1D()(torch.ones(2, 5, 3)).shape
        torch.Size([2, 3])
    """

    _rank = 3

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        self._check(tuple(inputs.shape))
        axis = self._axes()[0]
        if mask is None:
            return inputs.mean(dim=axis, keepdim=self.keepdims)
        weights = torch.as_tensor(mask, device=inputs.device).to(inputs.dtype)
        weights = weights.unsqueeze(-1 if self.data_format == "channels_last" else 1)
        total = (inputs * weights).sum(dim=axis, keepdim=self.keepdims)
        return total / weights.sum(dim=axis, keepdim=self.keepdims)


@builtin("layers", "global_average_pooling2d", "GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Mean over height and width of a 4-D input.

    Example:
        >>> GlobalAveragePooling2D(keepdims=True)(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 1, 1, 3])
    """

    _rank = 4

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check(tuple(inputs.shape))
        return inputs.mean(dim=self._axes(), keepdim=self.keepdims)


__all__ = ["AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "MaxPooling2D"]
