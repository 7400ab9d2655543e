"""``PReLU``: a leaky rectifier whose slope ``alpha`` is a learned weight, shared over
``shared_axes``."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import constraints, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, serialize


@builtin("layers")
class PReLU(Layer):
    """``x`` if positive else ``alpha * x``, ``alpha`` shaped like the input minus the batch
    axis, with size 1 along each of ``shared_axes`` (1-based, as in Keras).

    Example:
        >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
        >>> layer(torch.tensor([[[-2.0, 3.0]]])).tolist(), tuple(layer.alpha.shape)
        ([[[-2.0, 3.0]]], (1, 2))
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        if shared_axes is not None and not all(
                isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in shared_axes):
            raise ConfigError(f"PReLU expected `shared_axes` to be None or a list of axes >= 1 "
                              f"(axis 0 is the batch). Received: shared_axes={shared_axes!r}.")
        self.shared_axes = None if shared_axes is None else list(shared_axes)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)

    def build(self, input_shape: tuple) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise ShapeError(f"Layer '{self.name}' expected shared_axes within 1..{len(shape)}"
                                 f" for input shape {tuple(input_shape)}. Received: "
                                 f"shared_axes={self.shared_axes}.")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ShapeError(f"Layer '{self.name}' expected every non-shared input dimension to "
                             f"be known. Received input_shape={tuple(input_shape)}. Fix: share "
                             f"the unknown axes with shared_axes.")
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        # Keras's form relu(x) - alpha * relu(-x): same value and gradients as a where().
        return torch.relu(inputs) - self.alpha * torch.relu(-inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha_initializer": serialize(self.alpha_initializer),
                "alpha_regularizer": serialize(self.alpha_regularizer), "alpha_constraint": serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
