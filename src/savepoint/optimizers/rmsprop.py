"""RMSprop with Keras's defaults and update rule (epsilon inside the square root)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "rmsprop")
class RMSprop(Optimizer):
    """``v = rho v + (1 - rho) g^2``; centered: ``a = rho a + (1 - rho) g`` and the denominator
    is ``v - a^2 + eps``, else ``v + eps``; ``inc = lr g / sqrt(denominator)``; with momentum
    ``mom = momentum mom + inc; w -= mom``, else ``w -= inc``. Slots ``velocity``, then
    ``momentum`` (when ``momentum > 0``), then ``average_gradient`` (when ``centered``), each
    for every variable in turn, as tf.keras orders them.

    Example:
        >>> RMSprop().get_config()["rho"]
        0.9
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or momentum < 0:
            raise ConfigError(f"momentum must be a non-negative float. Received: "
                              f"momentum={momentum!r}.")
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon
        self.centered = bool(centered)
        self._slot_names = ("velocity",) + (("momentum",) if momentum > 0 else ()) + \
            (("average_gradient",) if self.centered else ())

    _tf_slot_lists = {"velocity": "_velocities", "momentum": "_momentums",
                      "average_gradient": "_average_gradients"}

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        return tuple((name,) for name in self._slot_names)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        velocity = slots["velocity"]
        torch._foreach_mul_(velocity, self.rho)
        torch._foreach_addcmul_(velocity, grads, grads, value=1 - self.rho)
        if self.centered:
            average = slots["average_gradient"]
            torch._foreach_mul_(average, self.rho)
            torch._foreach_add_(average, grads, alpha=1 - self.rho)
            denom = torch._foreach_addcmul(velocity, average, average, value=-1.0)
            torch._foreach_add_(denom, self.epsilon)
        else:
            denom = torch._foreach_add(velocity, self.epsilon)
        torch._foreach_sqrt_(denom)
        increment = torch._foreach_mul(grads, lr)
        torch._foreach_div_(increment, denom)
        if self.momentum > 0:
            mom = slots["momentum"]
            torch._foreach_mul_(mom, self.momentum)
            torch._foreach_add_(mom, increment)
            torch._foreach_sub_(params, mom)
        else:
            torch._foreach_sub_(params, increment)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
