"""``ReLU``: the rectified linear unit layer with ``max_value``, ``negative_slope`` and
``threshold`` (Keras 2's ``backend.relu``)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers import activations
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


def check_non_negative(layer: str, name: str, value: Any, optional: bool = False) -> Any:
    """``value`` as a float if it is a non-negative number (or None when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{layer} expected `{name}` to be a non-negative number"
                          f"{' or None' if optional else ''}. Received: {name}={value!r}. "
                          f"Fix: pass a value >= 0.")
    return float(value)


@builtin("layers")
class ReLU(Layer):
    """``f(x) = max_value`` above ``max_value``, ``x`` above ``threshold``, else
    ``negative_slope * (x - threshold)``.

    Example:
        >>> ReLU(negative_slope=0.5)(torch.tensor([[-2.0, 3.0]])).tolist()
        [[-1.0, 3.0]]
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_value = check_non_negative("ReLU", "max_value", max_value, optional=True)
        self.negative_slope = check_non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = check_non_negative("ReLU", "threshold", threshold)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return activations.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}
