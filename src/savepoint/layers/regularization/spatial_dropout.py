"""``SpatialDropout1D/2D/3D``: dropout of whole feature maps (one draw per sample and channel,
shared over the spatial axes)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.regularization.dropout import Dropout
from savepoint.serialization import builtin


class _SpatialDropout(Dropout):
    """Dropout whose noise shape is 1 along the spatial axes of a rank ``_rank`` input."""

    _rank = 3

    def __init__(self, rate: float, data_format: str | None = None, **kwargs: Any):
        kwargs.pop("noise_shape", None)  # tf.keras writes noise_shape=None; it is derived here
        super().__init__(rate, **kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ConfigError(f"{type(self).__name__} expected data_format 'channels_last' or "
                              f"'channels_first'. Received: data_format={data_format!r}.")
        self.data_format = data_format

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if inputs.dim() != self._rank:
            raise ShapeError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={self._rank}, found ndim={inputs.dim()}. Full shape "
                             f"received: {tuple(inputs.shape)}.")
        if not training or self.rate == 0:
            return inputs
        if self.data_format == "channels_last":
            shape = (inputs.shape[0],) + (1,) * (self._rank - 2) + (inputs.shape[-1],)
        else:
            shape = (inputs.shape[0], inputs.shape[1]) + (1,) * (self._rank - 2)
        keep = torch.empty(shape, dtype=inputs.dtype, device=inputs.device)
        keep.bernoulli_(1 - self.rate)
        return inputs * keep / (1 - self.rate)

    def get_config(self) -> dict:
        config = {**super().get_config()}
        if self.data_format != "channels_last":  # tf.keras 2 writes it only when it matters
            config["data_format"] = self.data_format
        return config

    @classmethod
    def keras3_config_out(cls, config: dict) -> dict:
        """Keras 3's SpatialDropout takes neither ``trainable`` nor ``noise_shape``; 2D/3D
        always name their ``data_format``."""
        out = {k: v for k, v in config.items() if k not in ("trainable", "noise_shape")}
        if cls._rank > 3:
            out.setdefault("data_format", "channels_last")
        return out


@builtin("layers")
class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of ``(batch, steps, channels)`` inputs during training.

    Example:
        >>> SpatialDropout1D(0.5)(torch.ones(1, 3, 2)).shape
        torch.Size([1, 3, 2])
    """

    _rank = 3

    def __init__(self, rate: float, **kwargs: Any):
        super().__init__(rate, **kwargs)


@builtin("layers")
class SpatialDropout2D(_SpatialDropout):
    """Drop whole channels of 4D image batches during training.

    Example:
        >>> SpatialDropout2D(0.5)(torch.ones(1, 2, 2, 3)).shape
        torch.Size([1, 2, 2, 3])
    """

    _rank = 4


@builtin("layers")
class SpatialDropout3D(_SpatialDropout):
    """Drop whole channels of 5D volume batches during training.

    Example:
        >>> SpatialDropout3D(0.5)(torch.ones(1, 2, 2, 2, 3)).shape
        torch.Size([1, 2, 2, 2, 3])
    """

    _rank = 5
