"""What BatchNormalization and LayerNormalization share: axis checks, epsilon, center/scale and
the gamma/beta weights, and the tf.keras config keys they accept only at their defaults."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.weight_args import add_role_weight, set_weight_args, weight_args_config

# tf.keras / Keras 3 config keys without an effect here at these values: dropped when they hold
# them, refused otherwise (renorm, virtual batches and adjustment change the numbers; fused picks
# a kernel; synchronized is the same on one device)
_LEGACY_CONFIG_DEFAULTS: dict[str, Any] = {
    "fused": (None, True, False), "renorm": (False,), "renorm_clipping": (None,),
    "renorm_momentum": (0.99,), "virtual_batch_size": (None,), "adjustment": (None,),
    "synchronized": (False, True)}


def _normalize_axis(axis: Any, layer: str) -> int | list[int]:
    """Validate an axis argument: an int or a non-empty list/tuple of ints."""
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    raise ConfigError(f"{layer} expected `axis` to be an int or a list of ints. Received: "
                      f"axis={axis!r}.")


def _resolve_axes(layer: Layer, axis: int | list[int], input_shape: tuple) -> list[int]:
    """Axes as sorted non-negative ints, checked against ``input_shape``; the batch axis and
    unknown dimensions are refused, as in Keras."""
    rank = len(input_shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    resolved = sorted({a + rank if a < 0 else a for a in axes})
    if any(a <= 0 or a >= rank for a in resolved):
        raise ShapeError(f"Layer '{layer.name}': invalid axis {axis} for an input of rank {rank} "
                         f"(shape {tuple(input_shape)}). Use axes in 1..{rank - 1} or -1..-"
                         f"{rank - 1}; the batch axis 0 cannot be normalized over.")
    unknown = [a for a in resolved if input_shape[a] is None]
    if unknown:
        raise ShapeError(f"Layer '{layer.name}' expected input dimension(s) {unknown} to be "
                         f"known. Received input_shape={tuple(input_shape)}.")
    return resolved


class AxisNormalization(Layer):
    """Shared constructor parts: axis, epsilon, center/scale and gamma/beta creation.

    Example:
        >>> from savepoint.layers.normalization import LayerNormalization
        >>> issubclass(LayerNormalization, AxisNormalization)
        True
    """

    supports_masking = True  # Keras passes the input mask on

    def __init__(self, axis: Any, epsilon: float, center: bool, scale: bool,
                 beta_initializer: Any, gamma_initializer: Any, beta_regularizer: Any,
                 gamma_regularizer: Any, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = _normalize_axis(axis, type(self).__name__)
        if not float(epsilon) > 0:
            raise ConfigError(f"{type(self).__name__} expected `epsilon` > 0. Received: "
                              f"epsilon={epsilon!r}.")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        set_weight_args(self, "beta", beta_initializer, beta_regularizer, beta_constraint)
        set_weight_args(self, "gamma", gamma_initializer, gamma_regularizer, gamma_constraint)

    def _build_affine(self, input_shape: tuple) -> tuple[int, ...]:
        self.axis = _resolve_axes(self, self.axis, input_shape)
        self._rank = len(input_shape)
        shape = tuple(input_shape[a] for a in self.axis)
        if self.scale:
            self.gamma = add_role_weight(self, "gamma", shape)
        if self.center:
            self.beta = add_role_weight(self, "beta", shape)
        return shape

    def _trackable_children(self) -> list[tuple[str, Any]]:
        """tf.keras's children: once built, its ``axis`` list is a stateless node before the
        weights (tf.keras tracks list attributes), then the weights."""
        children = super()._trackable_children()
        if not self.built:
            return children
        from savepoint.trackable import Placeholder
        return [("axis", self.__dict__.setdefault("_axis_node", Placeholder()))] + children

    def _check_input(self, inputs: torch.Tensor) -> None:
        if inputs.dim() != self._rank:
            raise ShapeError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={self._rank}, found ndim={inputs.dim()}. Full "
                             f"shape received: {tuple(inputs.shape)}.")

    def _broadcast(self, param: torch.Tensor) -> torch.Tensor:
        """A parameter shaped over ``self.axis`` reshaped to broadcast against the input."""
        shape = [1] * self._rank
        for a, d in zip(self.axis, param.shape):
            shape[a] = d
        return param.reshape(shape)

    def _affine(self, normalized: torch.Tensor) -> torch.Tensor:
        if self.scale:
            normalized = normalized * self._broadcast(self.gamma)
        if self.center:
            normalized = normalized + self._broadcast(self.beta)
        return normalized

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def _base_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **weight_args_config(self, ("beta", "gamma"))}

    @classmethod
    def from_config(cls, config: dict) -> "AxisNormalization":
        for key, allowed in _LEGACY_CONFIG_DEFAULTS.items():
            if key in config and config[key] not in allowed:
                raise ConfigError(
                    f"{cls.__name__} '{config.get('name')}' expected {key}="
                    f"{allowed[0]!r}: savepoint does not implement {key}. Received: "
                    f"{key}={config[key]!r}. Fix: rebuild the model without it.")
        return cls(**{k: v for k, v in config.items() if k not in _LEGACY_CONFIG_DEFAULTS})


__all__ = ["AxisNormalization"]
