"""``CenterCrop``: the central ``(height, width)`` window of images (upsized when smaller)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import (as_batched_image, check_data_format,
                                                   positive_int)
from savepoint.layers.preprocessing.resizing import smart_resize
from savepoint.serialization import builtin


def center_crop(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The centered window of ``(N, H, W, C)`` images; tf.keras's ``smart_resize`` when the
    images are smaller than the window in either dimension.

    Example:
        >>> center_crop(torch.arange(16.0).reshape(1, 4, 4, 1), 2, 2)[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """
    h_diff, w_diff = images.shape[1] - height, images.shape[2] - width
    if h_diff < 0 or w_diff < 0:
        return smart_resize(images, (height, width))
    top, left = h_diff // 2, w_diff // 2
    return images[:, top:top + height, left:left + width]


@builtin("layers")
class CenterCrop(Layer):
    """Crop the center ``height x width`` of channels-last images.

    Example:
        >>> import numpy as np
        >>> CenterCrop(2, 2)(np.ones((1, 4, 5, 3), "float32")).shape
        torch.Size([1, 2, 2, 3])
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.height = positive_int("CenterCrop", "height", height)
        self.width = positive_int("CenterCrop", "width", width)
        check_data_format("CenterCrop", data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        images, unbatched = as_batched_image(self, inputs)
        out = center_crop(images, self.height, self.width)
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}
