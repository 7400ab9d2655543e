"""Normalization layers: BatchNormalization (moving statistics) and LayerNormalization."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import constraints, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, serialize

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


class _Normalization(Layer):
    """Shared constructor parts: axis, epsilon, center/scale and gamma/beta creation."""

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
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _build_affine(self, input_shape: tuple) -> tuple[int, ...]:
        self.axis = _resolve_axes(self, self.axis, input_shape)
        self._rank = len(input_shape)
        shape = tuple(input_shape[a] for a in self.axis)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
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
                "beta_initializer": serialize(self.beta_initializer),
                "gamma_initializer": serialize(self.gamma_initializer),
                "beta_regularizer": serialize(self.beta_regularizer),
                "gamma_regularizer": serialize(self.gamma_regularizer),
                "beta_constraint": serialize(self.beta_constraint),
                "gamma_constraint": serialize(self.gamma_constraint)}

    @classmethod
    def from_config(cls, config: dict) -> "_Normalization":
        for key, allowed in _LEGACY_CONFIG_DEFAULTS.items():
            if key in config and config[key] not in allowed:
                raise ConfigError(
                    f"{cls.__name__} '{config.get('name')}' expected {key}="
                    f"{allowed[0]!r}: savepoint does not implement {key}. Received: "
                    f"{key}={config[key]!r}. Fix: rebuild the model without it.")
        return cls(**{k: v for k, v in config.items() if k not in _LEGACY_CONFIG_DEFAULTS})


@builtin("layers", "batch_normalization", "BatchNormalizationV2")
class BatchNormalization(_Normalization):
    """Normalize with batch statistics in training and moving statistics in inference.

    Training normalizes with the batch mean and biased variance and updates
    ``moving = moving * momentum + batch * (1 - momentum)``. The moving variance takes the
    biased batch variance, except where tf.keras 2 runs its fused kernel (4D/5D float input
    normalized over the channel axis only, e.g. after Conv2D): that kernel stores the unbiased
    (Bessel-corrected, ``n / (n - 1)``) variance. A layer with ``trainable=False`` always runs in
    inference mode and never updates its moving statistics, as in tf.keras 2.

    Example:
        >>> bn = BatchNormalization()
        >>> bn(torch.ones(4, 64)).shape, bn.count_params()
        (torch.Size([4, 64]), 256)
    """

    def __init__(self, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if not 0 <= float(momentum) <= 1:
            raise ConfigError(f"BatchNormalization expected `momentum` in [0, 1]. Received: "
                              f"momentum={momentum!r}.")
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape: tuple) -> None:
        shape = self._build_affine(input_shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        self._check_input(inputs)
        if training and self.trainable:
            reduce = [d for d in range(inputs.dim()) if d not in self.axis]
            variance, mean = torch.var_mean(inputs, dim=reduce, correction=0)
            self._update_moving(mean, variance * self._moving_variance_factor(inputs))
        else:
            fused = self._fused_inference(inputs)
            if fused is not None:
                return fused
            mean, variance = self.moving_mean, self.moving_variance
        inv = torch.rsqrt(self._broadcast(variance) + self.epsilon)
        return self._affine((inputs - self._broadcast(mean)) * inv)

    def _fused_inference(self, inputs: torch.Tensor) -> torch.Tensor | None:
        """Inference over one channel axis as one ``F.batch_norm`` (the hand-written
        sub/rsqrt/mul/add was a fifth of ResNet50's predict), or None where it does not apply.

        ``batch_norm`` wants channels on dim 1: a channels-last 4-D/5-D input is moved there
        as a view with torch's channels_last strides, which ``batch_norm`` keeps, so moving
        the axis back gives a contiguous output and neither direction copies. A 3-D
        channels-last input would come back strided, so it keeps the elementwise path.
        """
        axis, rank = self.axis[0], self._rank
        if len(self.axis) != 1 or inputs.dtype != self.moving_mean.dtype or not (
                axis == 1 or (axis == rank - 1 and rank in (4, 5))):
            return None
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        x = inputs if axis == 1 else inputs.movedim(axis, 1)
        out = torch.nn.functional.batch_norm(x, self.moving_mean, self.moving_variance, gamma,
                                             beta, training=False, eps=self.epsilon)
        return out if axis == 1 else out.movedim(1, axis)

    def _moving_variance_factor(self, inputs: torch.Tensor) -> float:
        """``n / (n - 1)`` where tf.keras's fused kernel would run (it stores the unbiased
        variance), else 1."""
        fused = (self._rank in (4, 5) and len(self.axis) == 1
                 and self.axis[0] in (1, self._rank - 1)
                 and inputs.dtype in (torch.float16, torch.bfloat16, torch.float32))
        count = inputs.numel() // max(inputs.shape[self.axis[0]], 1)
        return count / (count - 1) if fused and count > 1 else 1.0

    def _update_moving(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        with torch.no_grad():
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                moving.mul_(self.momentum).add_(batch.detach().to(moving.dtype),
                                                alpha=1.0 - self.momentum)

    def get_config(self) -> dict:
        return {**self._base_config(), "momentum": self.momentum,
                "moving_mean_initializer": serialize(self.moving_mean_initializer),
                "moving_variance_initializer": serialize(self.moving_variance_initializer)}


@builtin("layers", "layer_normalization")
class LayerNormalization(_Normalization):
    """Normalize each sample over ``axis`` (default the last), then scale by gamma, add beta.

    Example:
        >>> out = LayerNormalization()(torch.tensor([[1.0, 2.0, 3.0]]))
        >>> [round(v, 3) for v in out[0].tolist()]
        [-1.224, 0.0, 1.224]
    """

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)

    def build(self, input_shape: tuple) -> None:
        self._build_affine(input_shape)
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self._check_input(inputs)
        variance, mean = torch.var_mean(inputs, dim=self.axis, correction=0, keepdim=True)
        return self._affine((inputs - mean) * torch.rsqrt(variance + self.epsilon))

    def get_config(self) -> dict:
        return self._base_config()


__all__ = ["BatchNormalization", "LayerNormalization"]
