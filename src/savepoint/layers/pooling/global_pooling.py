"""Global pooling: GlobalMax/GlobalAveragePooling 1D/2D/3D (``keepdims``; 1-D average masks)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import check_rank, normalize_data_format
from savepoint.serialization import builtin


class GlobalPooling(Layer):
    """Reduce the steps (1-D) or the spatial dimensions, optionally keeping them as size 1.

    Example:
        >>> GlobalMaxPooling3D()(torch.zeros(2, 3, 3, 3, 4)).shape
        torch.Size([2, 4])
    """

    rank = 1

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _axes(self) -> tuple[int, ...]:
        start = 1 if self.data_format == "channels_last" else 2
        return tuple(range(start, start + self.rank))

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        return self._reduce(inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling(GlobalPooling):
    """The mean over the reduced dimensions.

    Example:
        >>> GlobalAveragePooling2D(keepdims=True)(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 1, 1, 3])
    """

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self._axes(), keepdim=self.keepdims)


class GlobalMaxPooling(GlobalPooling):
    """The maximum over the reduced dimensions.

    Example:
        >>> GlobalMaxPooling2D()(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 3])
    """

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=self._axes(), keepdim=self.keepdims)


@builtin("layers", "global_average_pooling1d", "GlobalAvgPool1D")
class GlobalAveragePooling1D(GlobalAveragePooling):
    """Mean over the steps of ``(batch, steps, features)``; a ``mask`` leaves masked steps out.

    Example:
        >>> GlobalAveragePooling1D()(torch.ones(2, 5, 3)).shape
        torch.Size([2, 3])
    """

    rank = 1

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), 3)
        axis = self._axes()[0]
        if mask is None:
            return inputs.mean(dim=axis, keepdim=self.keepdims)
        weights = torch.as_tensor(mask, device=inputs.device).to(inputs.dtype)
        weights = weights.unsqueeze(-1 if self.data_format == "channels_last" else 1)
        total = (inputs * weights).sum(dim=axis, keepdim=self.keepdims)
        return total / weights.sum(dim=axis, keepdim=self.keepdims)


@builtin("layers", "global_average_pooling2d", "GlobalAvgPool2D")
class GlobalAveragePooling2D(GlobalAveragePooling):
    """Mean over height and width of a 4-D input.

    Example:
        >>> GlobalAveragePooling2D()(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 3])
    """

    rank = 2


@builtin("layers", "GlobalAvgPool3D")
class GlobalAveragePooling3D(GlobalAveragePooling):
    """Mean over depth, height and width of a 5-D input.

    Example:
        >>> GlobalAveragePooling3D()(torch.ones(2, 3, 3, 3, 4)).shape
        torch.Size([2, 4])
    """

    rank = 3


@builtin("layers", "GlobalMaxPool1D")
class GlobalMaxPooling1D(GlobalMaxPooling):
    """Maximum over the steps of ``(batch, steps, features)``.

    Example:
        >>> GlobalMaxPooling1D()(torch.arange(6.).reshape(1, 3, 2)).tolist()
        [[4.0, 5.0]]
    """

    rank = 1


@builtin("layers", "GlobalMaxPool2D")
class GlobalMaxPooling2D(GlobalMaxPooling):
    """Maximum over height and width of a 4-D input.

    Example:
        >>> GlobalMaxPooling2D(keepdims=True)(torch.ones(2, 4, 4, 3)).shape
        torch.Size([2, 1, 1, 3])
    """

    rank = 2


@builtin("layers", "GlobalMaxPool3D")
class GlobalMaxPooling3D(GlobalMaxPooling):
    """Maximum over depth, height and width of a 5-D input.

    Example:
        >>> GlobalMaxPooling3D()(torch.ones(2, 3, 3, 3, 4)).shape
        torch.Size([2, 4])
    """

    rank = 3


GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)

__all__ = ["GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
           "GlobalMaxPool3D"]
