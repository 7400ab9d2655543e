"""Adadelta with tf.keras's update rule and defaults (``rho=0.95``, ``epsilon=1e-7``)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.optimizers.arguments import check_float
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "adadelta")
class Adadelta(Optimizer):
    """``ag = rho ag + (1 - rho) g^2; d = -sqrt(ad + eps) g / sqrt(ag + eps);
    ad = rho ad + (1 - rho) d^2; w += lr d``, as tf.keras computes it. Slots
    ``accumulated_grad`` and ``accumulated_delta_var``, interleaved per variable (tf.keras's
    ``_accumulated_grads`` and ``_accumulated_delta_vars`` lists).

    Example:
        >>> Adadelta().get_config()["rho"]
        0.95
    """

    _slot_names = ("accumulated_grad", "accumulated_delta_var")
    _tf_slot_lists = {"accumulated_grad": "_accumulated_grads",
                      "accumulated_delta_var": "_accumulated_delta_vars"}

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = check_float("Adadelta", "rho", rho)
        self.epsilon = check_float("Adadelta", "epsilon", epsilon)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        acc_grad, acc_delta = slots["accumulated_grad"], slots["accumulated_delta_var"]
        rho = self.rho
        torch._foreach_mul_(acc_grad, rho)
        torch._foreach_addcmul_(acc_grad, grads, grads, value=1 - rho)
        numer = torch._foreach_add(acc_delta, self.epsilon)
        torch._foreach_sqrt_(numer)
        denom = torch._foreach_add(acc_grad, self.epsilon)
        torch._foreach_sqrt_(denom)
        delta = torch._foreach_mul(numer, grads)
        torch._foreach_div_(delta, denom)  # -delta_var in tf.keras's notation
        torch._foreach_mul_(acc_delta, rho)
        torch._foreach_addcmul_(acc_delta, delta, delta, value=1 - rho)
        torch._foreach_add_(params, delta, alpha=-lr)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
