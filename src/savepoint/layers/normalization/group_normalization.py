"""``GroupNormalization``: normalize each sample over groups of channels (Wu & He, 2018), with
Keras's ``gamma``/``beta`` weights over the channel axis."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.weight_args import add_role_weight, set_weight_args, weight_args_config
from savepoint.serialization import builtin


@builtin("layers")
class GroupNormalization(Layer):
    """Split the ``axis`` channels into ``groups``, normalize each group of each sample over its
    channels and every non-batch axis, then scale by ``gamma`` and shift by ``beta``.
    ``groups=-1`` is instance normalization, ``groups=1`` layer normalization.

    Example:
        >>> GroupNormalization(groups=2)(torch.randn(3, 5, 4)).shape
        torch.Size([3, 5, 4])
    """

    supports_masking = True  # as in tf.keras 2: the input's mask passes through

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or groups == 0 or groups < -1:
            raise ConfigError(f"GroupNormalization expected `groups` to be a positive int or "
                              f"-1. Received: groups={groups!r}.")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"GroupNormalization expected `axis` to be an int. Received: "
                              f"axis={axis!r}. Fix: pass e.g. axis=-1.")
        self.groups, self.axis, self.epsilon = groups, axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        set_weight_args(self, "beta", beta_initializer, beta_regularizer, beta_constraint)
        set_weight_args(self, "gamma", gamma_initializer, gamma_regularizer, gamma_constraint)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0:
            raise ShapeError(f"Layer \"{self.name}\" (GroupNormalization) got axis {self.axis} "
                             f"for inputs of rank {rank}. Expected an axis in 1..{rank - 1}.")
        dim = input_shape[axis]
        if dim is None:
            raise ShapeError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {tuple(input_shape)}.")
        groups = dim if self.groups == -1 else self.groups
        if dim < groups or dim % groups:
            raise ShapeError(f"Layer \"{self.name}\" (GroupNormalization) needs the {dim} "
                             f"channels of axis {self.axis} to split evenly into groups. "
                             f"Received: groups={self.groups}. Fix: use a divisor of {dim}.")
        self._groups, self._rank, self._channel_axis = groups, rank, axis
        if self.scale:
            self.gamma = add_role_weight(self, "gamma", (dim,))
        if self.center:
            self.beta = add_role_weight(self, "beta", (dim,))
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        axis = self._channel_axis
        x = inputs.movedim(axis, -1) if axis != inputs.dim() - 1 else inputs
        shape = x.shape
        dim = shape[-1]
        grouped = x.reshape(shape[0], -1, self._groups, dim // self._groups)
        # Moments over every axis but the batch and the group (Keras: tf.nn.moments, keepdims).
        var, mean = torch.var_mean(grouped, dim=(1, 3), unbiased=False, keepdim=True)
        normalized = ((grouped - mean) * torch.rsqrt(var + self.epsilon)).reshape(shape)
        if self.scale:
            normalized = normalized * self.gamma
        if self.center:
            normalized = normalized + self.beta
        return normalized.movedim(-1, axis) if axis != inputs.dim() - 1 else normalized

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **weight_args_config(self, ("beta", "gamma"))}


__all__ = ["GroupNormalization"]
