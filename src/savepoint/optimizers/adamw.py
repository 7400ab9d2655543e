"""AdamW: Adam plus decoupled weight decay (Keras default ``weight_decay=0.004``)."""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.optimizers.adam import Adam
from savepoint.serialization import builtin


@builtin("optimizers", "adamw")
class AdamW(Adam):
    """Adam whose step first decays each variable, ``w -= w * weight_decay * lr``, then applies
    Adam's update, as Keras does (the decay is the base optimizer's, so ``variables`` and slots
    are Adam's: ``m``, ``v`` and, with ``amsgrad``, ``vhat``).

    Example:
        >>> AdamW().get_config()["weight_decay"]
        0.004
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any):
        if weight_decay is None:
            raise ConfigError("AdamW requires a float weight_decay. Received: "
                              "weight_decay=None. Pass weight_decay=0.004 (the default) or "
                              "use Adam for no decay.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
