"""Adagrad with tf.keras's update rule and defaults (accumulators start at 0.1)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.optimizers.arguments import check_float
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "adagrad")
class Adagrad(Optimizer):
    """``acc += g^2; w -= lr g / sqrt(acc + eps)``, as tf.keras computes it. One slot per
    variable, ``accumulator``, starting at ``initial_accumulator_value`` (tf.keras's
    ``_accumulators`` list).

    Example:
        >>> Adagrad().get_config()["initial_accumulator_value"]
        0.1
    """

    _slot_names = ("accumulator",)
    _tf_slot_lists = {"accumulator": "_accumulators"}

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = check_float(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_float("Adagrad", "epsilon", epsilon)

    def _new_slot(self, name: str, value: torch.Tensor) -> torch.Tensor:
        return torch.full_like(value, self.initial_accumulator_value).detach()

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        acc = slots["accumulator"]
        torch._foreach_addcmul_(acc, grads, grads)
        denom = torch._foreach_add(acc, self.epsilon)
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(params, grads, denom, value=-lr)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
