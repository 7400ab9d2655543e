"""Nadam (Adam with Nesterov momentum) with tf.keras's update rule, momentum schedule and
defaults."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from savepoint.layers.variable import Variable
from savepoint.optimizers.moment_optimizer import MomentOptimizer
from savepoint.serialization import builtin


@builtin("optimizers", "nadam")
class Nadam(MomentOptimizer):
    """With ``u_t = b1 (1 - 0.5 * 0.96^t)`` and ``P_t = u_1 ... u_t``: ``m += (g - m)(1 - b1);
    v += (g^2 - v)(1 - b2); m_hat = u_{t+1} m / (1 - P_{t+1}) + (1 - u_t) g / (1 - P_t);
    w -= lr m_hat / (sqrt(v / (1 - b2^t)) + eps)``, as tf.keras computes it. Slots ``m`` and
    ``v`` interleaved per variable (``_momentums``, ``_velocities``); ``P_t`` is tf.keras's
    ``_u_product`` checkpoint entry, a float32 product savepoint recomputes from the step.

    Example:
        >>> Nadam().get_config()["beta_1"]
        0.9
    """

    _slot_names = ("m", "v")
    _tf_slot_lists = {"m": "_momentums", "v": "_velocities"}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self._products = [np.float32(1.0)]  # P_0, P_1, ... in float32, as tf.keras keeps it

    def _u(self, t: int) -> np.float32:
        return np.float32(self.beta_1) * (np.float32(1.0) - np.float32(0.5) *
                                          np.float32(0.96) ** np.float32(t))

    def u_product(self, t: int) -> float:
        """``P_t``, the product of the momentum schedule up to step ``t`` (float32 rounding).

        Example:
            >>> Nadam().u_product(0)
            1.0
        """
        while len(self._products) <= t:
            self._products.append(np.float32(self._products[-1] * self._u(len(self._products))))
        return float(self._products[t])

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        m, v = slots["m"], slots["v"]
        u_t, u_next = float(self._u(step)), float(self._u(step + 1))
        p_t = self.u_product(step)
        p_next = float(np.float32(p_t) * np.float32(u_next))
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        sq = torch._foreach_mul(grads, grads)
        torch._foreach_lerp_(v, sq, 1 - self.beta_2)
        m_hat = torch._foreach_mul(m, u_next / (1 - p_next))
        torch._foreach_add_(m_hat, grads, alpha=(1 - u_t) / (1 - p_t))
        denom = torch._foreach_sqrt(v)  # sqrt(v / (1 - b2^t)) = sqrt(v) / sqrt(1 - b2^t)
        torch._foreach_div_(denom, math.sqrt(1 - self.beta_2 ** step))
        torch._foreach_add_(denom, self.epsilon)
        torch._foreach_addcdiv_(params, m_hat, denom, value=-lr)

    def _trackable_children(self) -> list[tuple[str, Any]]:
        children = super()._trackable_children()
        # Listed even before the first step so that a checkpoint's value finds its node;
        # restoring it changes nothing: P_t follows from the restored iteration count.
        value = torch.tensor(self.u_product(self._sync_step()), dtype=torch.float32)
        children.append(("_u_product", Variable(value, name="u_product", path="u_product")))
        return children
