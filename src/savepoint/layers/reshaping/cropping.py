"""``Cropping1D``/``2D``/``3D``: cells removed before and after each spatial dimension (a view).
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import (check_rank, normalize_data_format,
                                                       spatial_dims, with_spatial)
from savepoint.layers.reshaping.padding_utils import normalize_pairs
from savepoint.serialization import builtin


class Cropping(Layer):
    """N-d cropping (base of Cropping1D/2D/3D).

    Example:
        >>> Cropping3D(1)(torch.ones(1, 4, 4, 4, 1)).shape
        torch.Size([1, 2, 2, 2, 1])
    """

    rank = 2

    def __init__(self, cropping: Any = 1, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.cropping = normalize_pairs(cropping, self.rank, "cropping", kind)
        self.data_format = normalize_data_format(data_format, kind)

    def _check_sizes(self, shape: tuple) -> None:
        for n, (b, a) in zip(spatial_dims(shape, self.data_format), self.cropping):
            if n is not None and b + a >= n:
                raise ShapeError(
                    f"Layer '{self.name}': cropping {self.cropping} leaves nothing of input "
                    f"shape {tuple(shape)}. Expected the cropping of each dimension to sum to "
                    f"less than its size.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        self._check_sizes(tuple(inputs.shape))
        first = 1 if self.data_format == "channels_last" else 2
        index: list[Any] = [slice(None)] * inputs.dim()
        for d, (b, a) in enumerate(self.cropping):
            index[first + d] = slice(b, inputs.shape[first + d] - a)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        self._check_sizes(tuple(input_shape))
        spatial = tuple(None if n is None else n - b - a for n, (b, a) in
                        zip(spatial_dims(input_shape, self.data_format), self.cropping))
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return with_spatial(input_shape, spatial, channels, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


@builtin("layers")
class Cropping1D(Cropping):
    """Crop the steps of ``(batch, steps, features)``.

    Example:
        >>> Cropping1D((1, 2))(torch.arange(5.).reshape(1, 5, 1))[0, :, 0].tolist()
        [1.0, 2.0]
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any):
        super().__init__(cropping, **kwargs)

    def get_config(self) -> dict:
        config = {**super().get_config(), "cropping": self.cropping[0]}
        if self.data_format == "channels_last":
            del config["data_format"]  # tf.keras 2's Cropping1D takes no data_format
        return config


@builtin("layers")
class Cropping2D(Cropping):
    """Crop rows and columns of an image.

    Example:
        >>> Cropping2D(((1, 0), (0, 2)))(torch.ones(1, 4, 4, 1)).shape
        torch.Size([1, 3, 2, 1])
    """

    rank = 2


@builtin("layers")
class Cropping3D(Cropping):
    """Crop the three spatial dimensions of a volume.

    Example:
        >>> Cropping3D((1, 0, 1))(torch.ones(1, 4, 4, 4, 1)).shape
        torch.Size([1, 2, 4, 2, 1])
    """

    rank = 3


__all__ = ["Cropping1D", "Cropping2D", "Cropping3D"]
