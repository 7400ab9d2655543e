"""``EinsumDense``: a dense layer whose kernel contraction is an einsum equation (the projection
layer of MultiHeadAttention), with Keras's kernel and bias shapes."""

from __future__ import annotations

import re
from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations
from savepoint.layers.base import Layer
from savepoint.layers.weight_args import add_role_weight, set_kernel_bias_args, weight_args_config
from savepoint.serialization import builtin

_EQUATION = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")


def analyze(equation: str, bias_axes: str | None, input_shape: tuple,
            output_shape: list) -> tuple[tuple, tuple | None, tuple]:
    """``(kernel_shape, bias_shape, full_output_shape)`` of an equation without ellipses, as
    Keras's ``_analyze_einsum_string`` computes them.

    Example:
        >>> analyze("abc,cde->abde", "de", (None, 4, 6), [None, 2, 3])
        ((6, 2, 3), (2, 3), (None, 4, 2, 3))
    """
    match = _EQUATION.match(equation.replace(" ", ""))
    if not match:
        raise ConfigError(f"EinsumDense expected an equation of the form 'ab,bc->ac' without "
                          f"ellipses. Received: equation={equation!r}.")
    in_spec, kernel_spec, out_spec = match.groups()
    if len(in_spec) != len(input_shape):
        raise ShapeError(f"EinsumDense equation {equation!r} expects inputs of rank "
                         f"{len(in_spec)}. Received input shape {tuple(input_shape)}.")
    output_shape = list(output_shape)
    if len(output_shape) == len(out_spec) - 1:
        output_shape = [input_shape[0]] + output_shape
    if len(output_shape) != len(out_spec):
        raise ConfigError(f"EinsumDense expected output_shape of rank {len(out_spec) - 1} for "
                          f"{equation!r}. Received: output_shape={output_shape}.")
    full = []
    for i, letter in enumerate(out_spec):
        dim = output_shape[i]
        if letter in in_spec:
            dim = input_shape[in_spec.index(letter)]
        full.append(dim)
    kernel = []
    for letter in kernel_spec:
        if letter in in_spec:
            kernel.append(input_shape[in_spec.index(letter)])
        elif letter in out_spec:
            kernel.append(output_shape[out_spec.index(letter)])
        else:
            raise ConfigError(f"EinsumDense equation {equation!r}: kernel axis {letter!r} is in "
                              f"neither the input nor the output.")
    bias = None
    if bias_axes:
        if any(c not in out_spec for c in bias_axes):
            raise ConfigError(f"EinsumDense expected bias_axes among the output axes "
                              f"{out_spec!r}. Received: bias_axes={bias_axes!r}.")
        first = min(out_spec.find(c) for c in bias_axes)
        bias = tuple(full[out_spec.index(c)] if c in bias_axes else 1
                     for c in out_spec[first:])
    return tuple(kernel), bias, tuple(full)


@builtin("layers")
class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``.

    Example:
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
        >>> layer(torch.ones(1, 4, 6)).shape, tuple(layer.kernel.shape)
        (torch.Size([1, 4, 2, 3]), (6, 2, 3))
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.equation = equation
        self.partial_output_shape = [output_shape] if isinstance(output_shape, int) else \
            list(output_shape)
        self.bias_axes = bias_axes or None
        self.activation = activations.get(activation)
        set_kernel_bias_args(self, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape: tuple) -> None:
        kernel, bias, self.full_output_shape = analyze(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        if any(d is None for d in kernel):
            raise ShapeError(f"Layer \"{self.name}\" (EinsumDense) needs known input dimensions "
                             f"for its kernel. Received input shape {tuple(input_shape)}.")
        self.kernel = add_role_weight(self, "kernel", kernel)
        # tf.keras's SavedModel loader builds a sublayer (MultiHeadAttention's projections,
        # built without a call) from this shape before it restores the kernel
        self._build_input_shape = tuple(input_shape)
        if bias is not None:
            self.bias = add_role_weight(self, "bias", bias)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        out = torch.einsum(self.equation, inputs, self.kernel)
        if self.bias_axes:
            out = out + self.bias
        return self.activation(out)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return analyze(self.equation, self.bias_axes, tuple(input_shape),
                       self.partial_output_shape)[2]

    def get_config(self) -> dict:
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                **weight_args_config(self, ("kernel", "bias"), activity_regularizer=True)}

    @classmethod
    def from_config(cls, config: dict) -> "EinsumDense":
        return cls(**config)
