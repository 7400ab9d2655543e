"""``BatchNormalization``: normalize with batch statistics in training and moving statistics
in inference, with tf.keras 2's variance rules."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers import initializers
from savepoint.layers.normalization.base_normalization import AxisNormalization
from savepoint.serialization import builtin, serialize


@builtin("layers", "batch_normalization", "BatchNormalizationV2")
class BatchNormalization(AxisNormalization):
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


__all__ = ["BatchNormalization"]
