"""``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when a metric stops improving."""

from __future__ import annotations

import math
import warnings

import numpy as np

from savepoint.callbacks.base import Callback
from savepoint.callbacks.early_stopping import check_count, check_mode, check_monitor
from savepoint.callbacks.lr_scheduler import optimizer_of
from savepoint.errors import ConfigError
from savepoint.serialization import builtin


@builtin("callbacks", "reduce_lr_on_plateau")
class ReduceLROnPlateau(Callback):
    """After ``patience`` epochs without improvement of ``monitor``, set ``lr = lr * factor``.

    An improvement beats the best value by more than ``min_delta``. After a reduction,
    ``cooldown`` epochs pass before waiting starts again; the rate never goes below ``min_lr``.
    In ``"auto"`` mode, a metric whose name contains ``"acc"`` is maximized, others minimized.
    Each epoch's logs get the current rate as ``"lr"`` (tf.keras 2.x).

    Example:
        >>> import numpy as np, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile(keras.optimizers.Adam(0.1), "mse")
        >>> cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
        >>> h = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, callbacks=[cb],
        ...               verbose=0)
        >>> [round(lr, 6) for lr in h.history["lr"]]
        [0.1, 0.1, 0.05]
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0, **kwargs: float) -> None:
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use "
                          "`min_delta` instead.", stacklevel=2)
        if kwargs:
            raise ConfigError(f"ReduceLROnPlateau got unexpected keyword argument(s) "
                              f"{sorted(kwargs)}. Check the spelling of the arguments.")
        if not isinstance(factor, (int, float)) or not 0 <= factor < 1.0:
            raise ConfigError(f"ReduceLROnPlateau does not support a factor >= 1.0 or < 0. "
                              f"Received: factor={factor!r}. Pass a factor in [0, 1), e.g. "
                              f"factor=0.1.")
        self.monitor = check_monitor(monitor, "ReduceLROnPlateau")
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = check_count(patience, "patience", "ReduceLROnPlateau")
        self.cooldown = check_count(cooldown, "cooldown", "ReduceLROnPlateau")
        self.verbose = verbose
        self.mode = check_mode(mode, "Learning rate reduction")
        self.cooldown_counter = 0
        self.wait = 0
        self._reset()

    def _reset(self) -> None:
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = math.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = optimizer_of(self.model, "ReduceLROnPlateau")
        logs["lr"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(optimizer, epoch)

    def _reduce(self, optimizer, epoch: int) -> None:
        # Keras keeps the rate in a float32 variable; compute in float32 to print the same.
        old_lr = np.float32(optimizer.learning_rate)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * np.float32(self.factor), np.float32(self.min_lr))
            optimizer.learning_rate = float(new_lr)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether the callback is within ``cooldown`` epochs of its last reduction."""
        return self.cooldown_counter > 0

    def get_config(self) -> dict:
        """The constructor arguments (JSON-ready)."""
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience,
                "verbose": self.verbose, "mode": self.mode, "min_delta": self.min_delta,
                "cooldown": self.cooldown, "min_lr": self.min_lr}

    @classmethod
    def from_config(cls, config: dict) -> "ReduceLROnPlateau":
        """A new callback from ``get_config()``'s dict."""
        return cls(**config)


__all__ = ["ReduceLROnPlateau"]
