"""``Activation``: apply an activation function, given by name or as a callable, as a layer."""

from __future__ import annotations

from typing import Any

from savepoint.layers import activations
from savepoint.layers.base import Layer
from savepoint.serialization import builtin


@builtin("layers")
class Activation(Layer):
    """Apply an activation function by name or callable.

    Example:
        >>> import torch
        >>> Activation("relu")(torch.tensor([[-1.0, 2.0]])).tolist()
        [[0.0, 2.0]]
    """

    supports_masking = True  # Keras passes the input mask on

    def __init__(self, activation: Any, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


__all__ = ["Activation"]
