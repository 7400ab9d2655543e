"""``Rescaling``: ``inputs * scale + offset`` (for example ``1/255`` to bring pixels to [0, 1])."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


def _number_or_list(arg: str, value: Any) -> float | list[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    raise ConfigError(f"Rescaling expected `{arg}` to be a number or a list of numbers. "
                      f"Received: {arg}={value!r}.")


@builtin("layers")
class Rescaling(Layer):
    """Multiply by ``scale`` and add ``offset``; integer inputs become ``dtype`` (float32) first.

    Example:
        >>> Rescaling(1 / 255.0)(torch.tensor([[0.0, 255.0]])).tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = _number_or_list("scale", scale)
        self.offset = _number_or_list("offset", offset)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        scale, offset = self.scale, self.offset
        if isinstance(scale, list):  # per-channel factors broadcast over the last axis
            scale = torch.tensor(scale, dtype=inputs.dtype, device=inputs.device)
        if isinstance(offset, list):
            offset = torch.tensor(offset, dtype=inputs.dtype, device=inputs.device)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
