"""FTRL-Proximal with tf.keras's update rule and defaults (``learning_rate_power=-0.5``)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.optimizers.arguments import check_float
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "ftrl")
class Ftrl(Optimizer):
    """With ``p = -learning_rate_power``, ``l2' = l2 + beta / (2 lr)``: ``n' = n + g^2;
    z += g + 2 l2_shrinkage w - (n'^p - n^p) / lr * w; w = (clip(z, -l1, l1) - z) /
    (n'^p / lr + 2 l2'); n = n'``, as tf.keras computes it. Slots ``accumulator`` (starting at
    ``initial_accumulator_value``) and ``linear``, interleaved per variable (``_accumulators``,
    ``_linears``).

    Example:
        >>> Ftrl().get_config()["learning_rate_power"]
        -0.5
    """

    _slot_names = ("accumulator", "linear")
    _tf_slot_lists = {"accumulator": "_accumulators", "linear": "_linears"}

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(learning_rate_power, bool) or not isinstance(
                learning_rate_power, (int, float)) or learning_rate_power > 0:
            raise ConfigError(f"`learning_rate_power` needs to be negative or zero, got "
                              f"{learning_rate_power!r}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = check_float(
            "Ftrl", "initial_accumulator_value", initial_accumulator_value)
        self.l1_regularization_strength = check_float(
            "Ftrl", "l1_regularization_strength", l1_regularization_strength)
        self.l2_regularization_strength = check_float(
            "Ftrl", "l2_regularization_strength", l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = check_float(
            "Ftrl", "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
        self.beta = check_float("Ftrl", "beta", beta)

    def _new_slot(self, name: str, value: torch.Tensor) -> torch.Tensor:
        if name == "accumulator":
            return torch.full_like(value, self.initial_accumulator_value).detach()
        return super()._new_slot(name, value)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        acc, linear = slots["accumulator"], slots["linear"]
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        new_acc = torch._foreach_addcmul(acc, grads, grads)
        grad_to_use = torch._foreach_add(grads, params,
                                         alpha=2 * self.l2_shrinkage_regularization_strength)
        new_pow = torch._foreach_pow(new_acc, power)
        sigma = torch._foreach_sub(new_pow, torch._foreach_pow(acc, power))
        torch._foreach_div_(sigma, lr)
        torch._foreach_mul_(sigma, params)
        torch._foreach_add_(linear, grad_to_use)
        torch._foreach_sub_(linear, sigma)
        quadratic = torch._foreach_div(new_pow, lr)
        torch._foreach_add_(quadratic, 2 * l2)
        clipped = torch._foreach_clamp_max(torch._foreach_clamp_min(linear, -l1), l1)
        torch._foreach_sub_(clipped, linear)
        torch._foreach_div_(clipped, quadratic)
        torch._foreach_copy_(params, clipped)
        torch._foreach_copy_(acc, new_acc)

    def get_config(self) -> dict:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
