"""``EarlyStopping``: stop ``fit`` when a monitored metric stops improving (tf.keras 2.x rules)."""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError
from savepoint.serialization import builtin

_MODES = ("auto", "min", "max")


def check_mode(mode: str, owner: str) -> str:
    """``mode`` if it is one of auto/min/max; otherwise Keras's warning and ``"auto"``."""
    if mode not in _MODES:
        warnings.warn(f"{owner} mode {mode} is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


def check_count(value: Any, name: str, owner: str) -> int:
    """A non-negative int argument (``patience``, ``cooldown`` ...), or a ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{owner} expected `{name}` to be a non-negative integer. Received: "
                          f"{name}={value!r}. Pass a number of epochs such as {name}=3.")
    return value


def check_monitor(monitor: Any, owner: str) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise ConfigError(f"{owner} expected `monitor` to be the name of a logged metric, such "
                          f"as 'val_loss'. Received: monitor={monitor!r}.")
    return monitor


@builtin("callbacks", "early_stopping")
class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when the value beats the best one by more than ``min_delta``. With
    ``baseline``, the wait is only reset by values that also beat the baseline. With
    ``restore_best_weights``, the model gets back the weights of its best epoch when training
    ends, stopped early or not (tf-keras 2.16+). Epochs before ``start_from_epoch`` are not
    monitored.

    Example:
        >>> import numpy as np, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile("adam", "mse")
        >>> stop = EarlyStopping(monitor="loss", patience=2)
        >>> h = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=10, callbacks=[stop],
        ...               verbose=0)
        >>> len(h.history["loss"])  # a constant loss never improves after epoch 1
        3
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor = check_monitor(monitor, "EarlyStopping")
        self.patience = check_count(patience, "patience", "EarlyStopping")
        self.start_from_epoch = check_count(start_from_epoch, "start_from_epoch",
                                            "EarlyStopping")
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.mode = check_mode(mode, "EarlyStopping")
        self._min_delta_arg = min_delta
        self.monitor_op = _monitor_op(self.mode, self.monitor)
        # Improvement test is ``op(current - min_delta, best)``: the sign follows the direction.
        self.min_delta = abs(min_delta) * (1 if self.monitor_op is operator.gt else -1)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_weights: list | None = None
        self.best_epoch = 0

    def _worst(self) -> float:
        return math.inf if self.monitor_op is operator.lt else -math.inf

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # If no epoch ever improves, the weights after the first monitored one are restored.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None) -> float | None:
        """The monitored value in ``logs``, or ``None`` with a warning naming what is there."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value

    def _is_improvement(self, value: float, reference: float) -> bool:
        return bool(self.monitor_op(value - self.min_delta, reference))

    def get_config(self) -> dict:
        """The constructor arguments (JSON-ready)."""
        return {"monitor": self.monitor, "min_delta": self._min_delta_arg,
                "patience": self.patience, "verbose": self.verbose, "mode": self.mode,
                "baseline": self.baseline, "restore_best_weights": self.restore_best_weights,
                "start_from_epoch": self.start_from_epoch}

    @classmethod
    def from_config(cls, config: dict) -> "EarlyStopping":
        """A new callback from ``get_config()``'s dict."""
        return cls(**config)


def _monitor_op(mode: str, monitor: str) -> Any:
    if mode == "min":
        return operator.lt
    if mode == "max":
        return operator.gt
    higher_is_better = monitor.endswith(("acc", "accuracy", "auc"))
    return operator.gt if higher_is_better else operator.lt


__all__ = ["EarlyStopping"]
