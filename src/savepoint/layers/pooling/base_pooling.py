"""``BasePooling``: arguments, shapes and configs of Max/AveragePooling 1D/2D/3D.

``'same'`` follows TensorFlow: the extra padded cell goes after, max pooling never picks a
padded cell, average pooling leaves padded cells out of the count.
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import (check_rank, from_channels_first,
                                                       normalize_data_format, normalize_padding,
                                                       normalize_tuple, output_length,
                                                       spatial_dims, to_channels_first,
                                                       with_spatial)


class BasePooling(Layer):
    """Shared base of the N-d pooling layers; subclasses set ``rank`` and ``_pool``.

    Example:
        >>> from savepoint.layers import MaxPooling1D
        >>> MaxPooling1D()(torch.zeros(1, 6, 2)).shape
        torch.Size([1, 3, 2])
    """

    rank = 2

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", kind)
        self.strides = self.pool_size if strides is None else \
            normalize_tuple(strides, self.rank, "strides", kind)
        self.padding = normalize_padding(padding, kind)
        self.data_format = normalize_data_format(data_format, kind)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        out = self._pool(to_channels_first(inputs, self.data_format))
        return from_channels_first(out, self.data_format)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        spatial = tuple(output_length(s, k, st, self.padding) for s, k, st in
                        zip(spatial_dims(input_shape, self.data_format), self.pool_size,
                            self.strides))
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return with_spatial(input_shape, spatial, channels, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


__all__ = ["BasePooling"]
