"""``UpSampling1D``/``2D``/``3D``: repeat cells (nearest), or bilinear resize in 2-D.

Nearest is an exact repeat (one expand + reshape copy; torch's float-scale nearest index can be
off by one for some factors). Bilinear is ``F.interpolate(align_corners=False)``, which is
tf.image.resize's ``half_pixel_centers`` rule that tf.keras's UpSampling2D uses.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import (check_rank, normalize_data_format,
                                                       normalize_tuple, spatial_dims,
                                                       to_channels_first, from_channels_first,
                                                       with_spatial)
from savepoint.serialization import builtin

_INTERPOLATIONS = ("nearest", "bilinear")


def repeat_axes(x: torch.Tensor, first: int, sizes: tuple[int, ...]) -> torch.Tensor:
    """Repeat each cell of the axes ``first, first+1, ...`` ``sizes`` times (nearest upsampling).

    Example:
        >>> repeat_axes(torch.tensor([[1., 2.]]), 1, (2,)).tolist()
        [[1.0, 1.0, 2.0, 2.0]]
    """
    view, expand, final = list(x.shape[:first]), list(x.shape[:first]), list(x.shape[:first])
    for d, size in enumerate(sizes):
        n = x.shape[first + d]
        view += [n, 1]
        expand += [n, size]
        final.append(n * size)
    rest = list(x.shape[first + len(sizes):])
    return x.reshape(view + rest).expand(expand + rest).reshape(final + rest)


class UpSampling(Layer):
    """N-d upsampling (base of UpSampling1D/2D/3D).

    Example:
        >>> UpSampling3D(2)(torch.ones(1, 2, 2, 2, 1)).shape
        torch.Size([1, 4, 4, 4, 1])
    """

    rank = 2

    def __init__(self, size: Any = 2, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.size = normalize_tuple(size, self.rank, "size", kind)
        self.data_format = normalize_data_format(data_format, kind)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        first = 1 if self.data_format == "channels_last" else 2
        return repeat_axes(inputs, first, self.size)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        spatial = tuple(None if n is None else n * s for n, s in
                        zip(spatial_dims(input_shape, self.data_format), self.size))
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return with_spatial(input_shape, spatial, channels, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


@builtin("layers")
class UpSampling1D(UpSampling):
    """Repeat each step of ``(batch, steps, features)`` ``size`` times.

    Example:
        >>> UpSampling1D(2)(torch.tensor([[[1.], [2.]]]))[0, :, 0].tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    rank = 1

    def get_config(self) -> dict:
        config = {**super().get_config(), "size": self.size[0]}
        if self.data_format == "channels_last":
            del config["data_format"]  # tf.keras 2's UpSampling1D takes no data_format
        return config


@builtin("layers")
class UpSampling2D(UpSampling):
    """Upsample rows and columns by ``size``: ``'nearest'`` repeats, ``'bilinear'`` resizes.

    Example:
        >>> UpSampling2D(2, interpolation="bilinear")(torch.ones(1, 2, 2, 1)).shape
        torch.Size([1, 4, 4, 1])
    """

    rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any):
        super().__init__(size, data_format, **kwargs)
        if interpolation not in _INTERPOLATIONS:
            raise ConfigError(f"UpSampling2D expected `interpolation` to be 'nearest' or "
                              f"'bilinear' (savepoint does not match TF's other resize kernels "
                              f"exactly). Received: interpolation={interpolation!r}.")
        self.interpolation = interpolation

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.interpolation == "nearest":
            return super().call(inputs)
        check_rank(self, tuple(inputs.shape), 4)
        x = to_channels_first(inputs, self.data_format)
        out_size = (x.shape[2] * self.size[0], x.shape[3] * self.size[1])
        out = F.interpolate(x, size=out_size, mode="bilinear", align_corners=False)
        return from_channels_first(out, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation}


@builtin("layers")
class UpSampling3D(UpSampling):
    """Repeat each cell of a volume ``size`` times along depth, height and width.

    Example:
        >>> UpSampling3D((1, 2, 2))(torch.ones(1, 2, 2, 2, 1)).shape
        torch.Size([1, 2, 4, 4, 1])
    """

    rank = 3


__all__ = ["UpSampling1D", "UpSampling2D", "UpSampling3D", "repeat_axes"]
