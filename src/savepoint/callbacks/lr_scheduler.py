"""``LearningRateScheduler``: set the optimizer's learning rate from ``schedule(epoch, lr)``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import torch

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError
from savepoint.serialization import builtin


def optimizer_of(model: Any, owner: str) -> Any:
    """The model's optimizer, checked to have a settable ``learning_rate``."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ConfigError(f"{owner} needs a model whose optimizer has a `learning_rate`. "
                          f"Received optimizer: {optimizer!r}. Call model.compile(optimizer=...) "
                          f"before fit().")
    return optimizer


@builtin("callbacks", "learning_rate_scheduler")
class LearningRateScheduler(Callback):
    """At the start of each epoch, set ``model.optimizer.learning_rate = schedule(epoch, lr)``.

    ``schedule`` receives the 0-based epoch index and the current learning rate (a one-argument
    ``schedule(epoch)`` works too) and returns a float. The rate in force during the epoch is
    added to the epoch's logs as ``"lr"`` (tf.keras 2.x), so ``History`` records it.

    Example:
        >>> import numpy as np, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile(keras.optimizers.Adam(0.1), "mse")
        >>> halve = LearningRateScheduler(lambda epoch, lr: lr / 2)
        >>> h = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, callbacks=[halve],
        ...               verbose=0)
        >>> h.history["lr"]
        [0.05, 0.025]
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ConfigError(f"LearningRateScheduler expected `schedule` to be a function "
                              f"schedule(epoch, lr) -> float. Received: {schedule!r} of type "
                              f"{type(schedule).__name__}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = optimizer_of(self.model, "LearningRateScheduler")
        lr = float(optimizer.learning_rate)
        if _takes_two_args(self.schedule):
            new_lr = self.schedule(epoch, lr)
        else:
            new_lr = self.schedule(epoch)
        new_lr = _as_float(new_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new_lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["lr"] = float(optimizer_of(self.model, "LearningRateScheduler").learning_rate)


def _takes_two_args(fn: Callable) -> bool:
    try:
        inspect.signature(fn).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins): assume the current API
        return True
    return True


def _as_float(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point():
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "f":
        return value[()]
    if isinstance(value, (float, np.floating)):
        return value
    raise ConfigError(f'The output of the "schedule" function should be float. Received: '
                      f"{value!r} of type {type(value).__name__}. Return a float, e.g. "
                      f"`return float(lr)`.")


__all__ = ["LearningRateScheduler"]
