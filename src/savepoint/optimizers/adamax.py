"""Adamax (Adam with the infinity norm) with tf.keras's update rule and defaults."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.optimizers.adagrad import check_float
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "adamax")
class Adamax(Optimizer):
    """``m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps))``, as
    tf.keras computes it. Slots ``m`` and ``u`` interleaved per variable (tf.keras's ``_m`` and
    ``_u`` lists).

    Example:
        >>> Adamax().get_config()["beta_2"]
        0.999
    """

    _slot_names = ("m", "u")
    _tf_slot_lists = {"m": "_m", "u": "_u"}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = check_float("Adamax", "beta_1", beta_1)
        self.beta_2 = check_float("Adamax", "beta_2", beta_2)
        self.epsilon = check_float("Adamax", "epsilon", epsilon)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        m, u = slots["m"], slots["u"]
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denom = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denom, 1 - self.beta_1 ** step)
        torch._foreach_addcdiv_(params, m, denom, value=-lr)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
