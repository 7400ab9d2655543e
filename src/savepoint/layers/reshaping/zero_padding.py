"""``ZeroPadding1D``/``2D``/``3D``: zeros added before and after each spatial dimension."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.layers.base import Layer
from savepoint.layers.convolutional.conv_utils import (check_rank, normalize_data_format,
                                                       spatial_dims, with_spatial)
from savepoint.layers.reshaping.padding_utils import normalize_pairs
from savepoint.serialization import builtin


class ZeroPadding(Layer):
    """N-d zero padding (base of ZeroPadding1D/2D/3D): one ``F.pad``.

    Example:
        >>> ZeroPadding3D(1)(torch.ones(1, 2, 2, 2, 1)).shape
        torch.Size([1, 4, 4, 4, 1])
    """

    rank = 2

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.padding = normalize_pairs(padding, self.rank, "padding", kind)
        self.data_format = normalize_data_format(data_format, kind)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        check_rank(self, tuple(inputs.shape), self.rank + 2)
        pads: list[int] = [0, 0] if self.data_format == "channels_last" else []
        for before, after in reversed(self.padding):
            pads += [before, after]
        return F.pad(inputs, pads)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        check_rank(self, input_shape, self.rank + 2)
        spatial = tuple(None if n is None else n + b + a for n, (b, a) in
                        zip(spatial_dims(input_shape, self.data_format), self.padding))
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return with_spatial(input_shape, spatial, channels, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


@builtin("layers")
class ZeroPadding1D(ZeroPadding):
    """Zeros before and after the steps of ``(batch, steps, features)``.

    Example:
        >>> ZeroPadding1D((1, 2))(torch.ones(1, 3, 1))[0, :, 0].tolist()
        [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """

    rank = 1

    def get_config(self) -> dict:
        config = {**super().get_config(), "padding": self.padding[0]}
        if self.data_format == "channels_last":
            del config["data_format"]  # tf.keras 2's ZeroPadding1D takes no data_format
        return config

    @staticmethod
    def keras3_config_out(config: dict) -> dict:
        """Keras 3's ZeroPadding1D writes its ``data_format``."""
        return {"data_format": "channels_last", **config}


@builtin("layers")
class ZeroPadding2D(ZeroPadding):
    """Zero rows above/below and columns left/right of an image.

    Example:
        >>> ZeroPadding2D(((1, 0), (0, 2)))(torch.ones(1, 2, 2, 1)).shape
        torch.Size([1, 3, 4, 1])
    """

    rank = 2


@builtin("layers")
class ZeroPadding3D(ZeroPadding):
    """Zero padding of the three spatial dimensions of a volume.

    Example:
        >>> ZeroPadding3D((1, 0, 2))(torch.ones(1, 2, 2, 2, 1)).shape
        torch.Size([1, 4, 2, 6, 1])
    """

    rank = 3


__all__ = ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]
