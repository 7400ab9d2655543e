"""Adamax (Adam with the infinity norm) with tf.keras's update rule and defaults."""

from __future__ import annotations

import torch

from savepoint.optimizers.moment_optimizer import MomentOptimizer
from savepoint.serialization import builtin


@builtin("optimizers", "adamax")
class Adamax(MomentOptimizer):
    """``m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps))``, as
    tf.keras computes it. Slots ``m`` and ``u`` interleaved per variable (tf.keras's ``_m`` and
    ``_u`` lists).

    Example:
        >>> Adamax().get_config()["beta_2"]
        0.999
    """

    _slot_names = ("m", "u")
    _tf_slot_lists = {"m": "_m", "u": "_u"}

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        m, u = slots["m"], slots["u"]
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denom = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denom, 1 - self.beta_1 ** step)
        torch._foreach_addcdiv_(params, m, denom, value=-lr)
