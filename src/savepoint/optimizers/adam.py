"""Adam with Keras's update rule and defaults (``epsilon=1e-7``, bias correction folded into lr)."""

from __future__ import annotations

import math
from typing import Any

import torch

from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


def _fused_ok(params: list[torch.Tensor], grads: list[torch.Tensor]) -> bool:
    if not hasattr(torch, "_fused_adam_") or not params:
        return False
    first = params[0]
    return first.dtype in (torch.float32, torch.float64, torch.float16) and all(
        p.device == first.device and p.dtype == first.dtype and g.dtype == p.dtype
        for p, g in zip(params, grads))


@builtin("optimizers", "adam")
class Adam(Optimizer):
    """``m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); w -= lr_t m / (sqrt(v) + eps)`` with
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, as tf.keras computes it. Slots ``m`` and ``v``
    (interleaved per variable), then ``vhat`` for every variable when ``amsgrad``.

    Example:
        >>> Adam().get_config()["beta_1"]
        0.9
    """

    _slot_names = ("m", "v")
    _tf_slot_lists = {"m": "_momentums", "v": "_velocities", "vhat": "_velocity_hats"}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        if amsgrad:
            self._slot_names = ("m", "v", "vhat")

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        return (("m", "v"), ("vhat",)) if self.amsgrad else (("m", "v"),)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        if not self.amsgrad and _fused_ok(params, grads):
            self._fused_update(params, grads, slots, lr, step)
            return
        m, v = slots["m"], slots["v"]
        alpha = lr * math.sqrt(1 - self.beta_2 ** step) / (1 - self.beta_1 ** step)
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        sq = torch._foreach_mul(grads, grads)
        torch._foreach_lerp_(v, sq, 1 - self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(slots["vhat"], v)
            v = slots["vhat"]
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_addcdiv_(params, m, denom, value=-alpha)

    def _fused_update(self, params, grads, slots, lr, step) -> None:
        """One pass of torch's fused Adam kernel. Torch divides sqrt(v) by sqrt(1 - b2^t)
        before adding epsilon; passing ``eps / sqrt(1 - b2^t)`` gives Keras's formula exactly
        in real arithmetic (``lr_t m / (sqrt(v) + eps)``)."""
        steps = self.__dict__.get("_fused_steps")
        if steps is None or len(steps) != len(params) or steps[0].device != params[0].device:
            steps = self._fused_steps = [torch.zeros((), dtype=torch.float32, device=p.device)
                                         for p in params]
            self._fused_at = 0
        if self._fused_at != step - 1:
            torch._foreach_zero_(steps)
            torch._foreach_add_(steps, float(step - 1))
        torch._foreach_add_(steps, 1.0)
        self._fused_at = step
        eps = self.epsilon / math.sqrt(1 - self.beta_2 ** step)
        torch._fused_adam_(params, grads, slots["m"], slots["v"], [], steps, lr=lr,
                           beta1=self.beta_1, beta2=self.beta_2, weight_decay=0.0, eps=eps,
                           amsgrad=False, maximize=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
