"""SGD with optional momentum and Nesterov momentum, computed as Keras 2.11+/Keras 3 do."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.optimizers.base import Optimizer
from savepoint.serialization import builtin


@builtin("optimizers", "sgd")
class SGD(Optimizer):
    """Plain: ``w -= lr g``. With ``momentum``: ``m = momentum m - lr g``, then ``w += m``, or
    with ``nesterov`` ``w += momentum m - lr g``. One slot, ``momentum``, kept even when
    ``momentum == 0`` because tf.keras keeps it too: checkpoints then match slot for slot.

    Example:
        >>> SGD(learning_rate=0.1, momentum=0.9, nesterov=True).get_config()["nesterov"]
        True
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or \
                not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"momentum must be a float between [0, 1]. Received: "
                              f"momentum={momentum!r}.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self._slot_names = ("momentum",)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        if not self.momentum:
            torch._foreach_add_(params, grads, alpha=-lr)
            return
        m = slots["momentum"]
        torch._foreach_mul_(m, self.momentum)
        torch._foreach_add_(m, grads, alpha=-lr)
        if self.nesterov:
            delta = torch._foreach_mul(m, self.momentum)
            torch._foreach_add_(delta, grads, alpha=-lr)
            torch._foreach_add_(params, delta)
        else:
            torch._foreach_add_(params, m)

    _tf_slot_lists = {"momentum": "momentums"}

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
