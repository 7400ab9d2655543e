"""``Dense``: ``activation(inputs @ kernel + bias)`` with Keras's ``(in, out)`` kernel."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations
from savepoint.layers.base import Layer
from savepoint.layers.weight_args import add_role_weight, set_kernel_bias_args, weight_args_config
from savepoint.serialization import builtin


@builtin("layers")
class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` with kernel shaped ``(in, out)`` as in Keras.

    Example:
        >>> Dense(3)(torch.ones(2, 4)).shape
        torch.Size([2, 3])
    """

    supports_masking = True  # Keras passes the input mask on

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ConfigError(f"Dense expected `units` to be a positive int. Received: {units!r}.")
        self.units, self.use_bias = units, use_bias
        self.activation = activations.get(activation)
        set_kernel_bias_args(self, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)
        if self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
            self.built = True
            self._set_initial_weights()

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ShapeError(f"Layer '{self.name}' expected the last input dimension to be known. "
                             f"Received input_shape={tuple(input_shape)}.")
        self.kernel = add_role_weight(self, "kernel", (in_dim, self.units))
        if self.use_bias:
            self.bias = add_role_weight(self, "bias", (self.units,))
        self.built = True

    def call(self, inputs):
        k = self.kernel
        if inputs.shape[-1] != k.shape[0]:
            raise ShapeError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                f"axis -1 of input shape to have value {k.shape[0]}, but received input with "
                f"shape {tuple(inputs.shape)}.")
        if self.use_bias:
            out = torch.addmm(self.bias, inputs, k) if inputs.dim() == 2 else inputs @ k + self.bias
        else:
            out = inputs @ k
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_args_config(self, ("kernel", "bias"), activity_regularizer=True)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["Dense"]
