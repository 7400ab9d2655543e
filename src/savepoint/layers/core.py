"""Core layers: InputLayer/Input, Dense, Dropout, Activation, Flatten, Reshape."""

from __future__ import annotations

import math
from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations, constraints, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.layers.symbolic import KerasTensor, Node
from savepoint.serialization import builtin, serialize

def _init_config(obj: Any) -> Any:
    return serialize(obj) if not isinstance(obj, str) else obj


@builtin("layers")
class InputLayer(Layer):
    """The entry of a functional model; ``Input(shape)`` makes one and returns its tensor."""

    def __init__(self, input_shape: tuple | None = None, batch_size: int | None = None,
                 dtype: Any = None, name: str | None = None, batch_input_shape: tuple | None = None,
                 shape: tuple | None = None, sparse: bool = False, ragged: bool = False, **kwargs):
        if name is None:
            name = backend.unique_name("input", zero_based=False)
        shape = shape if shape is not None else input_shape
        if batch_input_shape is None:
            if shape is None:
                raise ConfigError("InputLayer expected `shape` or `batch_input_shape`. Received "
                                  "neither. Pass for example shape=(784,).")
            batch_input_shape = (batch_size,) + backend.shape_tuple(shape)
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_input_shape, **kwargs)
        self.built = True
        tensor = KerasTensor(self._batch_input_shape, dtype=self.dtype, name=self.name)
        self._inbound_nodes.append(Node(self, (), {}, tensor))
        tensor._history = (self, 0, 0)

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name}


def Input(shape: tuple | None = None, batch_size: int | None = None, name: str | None = None,
          dtype: Any = None, batch_shape: tuple | None = None, **kwargs: Any) -> KerasTensor:
    """A symbolic input for functional models.

    Example:
        >>> Input(shape=(784,)).shape
        (None, 784)
    """
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_input_shape=batch_shape, **kwargs)
    return layer.output


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
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
            self.built = True
            self._set_initial_weights()

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ShapeError(f"Layer '{self.name}' expected the last input dimension to be known. "
                             f"Received input_shape={tuple(input_shape)}.")
        self.kernel = self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
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
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer),
                "activity_regularizer": serialize(self.activity_regularizer),
                "kernel_constraint": serialize(self.kernel_constraint),
                "bias_constraint": serialize(self.bias_constraint)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@builtin("layers")
class Dropout(Layer):
    """Zero a fraction ``rate`` of inputs during training, scaling the rest by ``1/(1-rate)``.

    Example:
        >>> Dropout(0.5)(torch.ones(2, 2)).tolist()   # inference: identity
        [[1.0, 1.0], [1.0, 1.0]]
    """

    supports_masking = True  # Keras passes the input mask on

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) < 1:
            raise ConfigError(f"Dropout expected `rate` in [0, 1). Received: {rate!r}.")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None:
            return torch.nn.functional.dropout(inputs, self.rate, training=True)
        shape = [inputs.shape[i] if d is None else int(d) for i, d in enumerate(self.noise_shape)]
        keep = torch.empty(shape, dtype=inputs.dtype, device=inputs.device)
        keep.bernoulli_(1 - self.rate)
        return inputs * keep / (1 - self.rate)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


@builtin("layers")
class Activation(Layer):
    """Apply an activation function by name or callable."""

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


@builtin("layers")
class Flatten(Layer):
    """Flatten all but the batch dimension (channels-last order, as Keras)."""

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        known = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], known)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@builtin("layers")
class Reshape(Layer):
    """Reshape to ``target_shape`` (batch dimension excluded; one ``-1`` allowed)."""

    def __init__(self, target_shape: tuple, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ConfigError(f"Reshape expected at most one -1 in target_shape. Received: "
                              f"{self.target_shape}.")

    def call(self, inputs):
        try:
            return inputs.reshape((inputs.shape[0],) + self.target_shape)
        except RuntimeError:
            raise ShapeError(
                f"Layer \"{self.name}\" cannot reshape input of shape {tuple(inputs.shape)} to "
                f"target_shape {self.target_shape}: the element counts differ.") from None

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 in self.target_shape:
            if any(d is None for d in rest):
                return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
            known = math.prod(d for d in self.target_shape if d != -1)
            total = math.prod(rest)
            return (input_shape[0],) + tuple(total // known if d == -1 else d
                                             for d in self.target_shape)
        return (input_shape[0],) + self.target_shape

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
