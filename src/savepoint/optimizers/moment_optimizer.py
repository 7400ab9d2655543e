"""``MomentOptimizer``: the ``beta_1``/``beta_2``/``epsilon`` arguments, checked, and their config
entries, shared by Adam's relatives that keep two moment slots (Adamax, Nadam)."""

from __future__ import annotations

from typing import Any

from savepoint.optimizers.arguments import check_float
from savepoint.optimizers.base import Optimizer


class MomentOptimizer(Optimizer):
    """Base of an optimizer with tf.keras's Adam-style hyperparameters and defaults
    (``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``); each must be a float
    >= 0. Subclasses name their slots and implement ``update``.

    Example:
        >>> from savepoint.optimizers import Nadam
        >>> issubclass(Nadam, MomentOptimizer), Nadam(beta_2=0.99).get_config()["beta_2"]
        (True, 0.99)
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        name = type(self).__name__
        self.beta_1 = check_float(name, "beta_1", beta_1)
        self.beta_2 = check_float(name, "beta_2", beta_2)
        self.epsilon = check_float(name, "epsilon", epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


__all__ = ["MomentOptimizer"]
