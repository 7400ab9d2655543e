"""Validation of optimizer constructor arguments: those every optimizer shares (learning rate,
clipping) and the numeric hyperparameters of each (``check_float``)."""

from __future__ import annotations

import math
from typing import Any

from savepoint.errors import ConfigError

_KERAS_ONLY_KWARGS = ("jit_compile", "is_legacy_optimizer", "ema_momentum",
                      "ema_overwrite_frequency")


def check_keras_only_kwargs(cls_name: str, kwargs: dict) -> None:
    """Drop tf.keras/Keras 3 options that change nothing here; refuse those savepoint cannot
    honour (``use_ema=True``, ``decay``, gradient accumulation, loss scaling) and unknown ones.

    Example:
        >>> kwargs = {"jit_compile": True}; check_keras_only_kwargs("SGD", kwargs); kwargs
        {}
    """
    for key in _KERAS_ONLY_KWARGS:
        kwargs.pop(key, None)
    unsupported = {"use_ema": (False, None), "gradient_accumulation_steps": (None, 1),
                   "loss_scale_factor": (None,), "decay": (None, 0, 0.0)}
    for key, allowed in unsupported.items():
        value = kwargs.pop(key, None)
        if value not in allowed:
            hint = ("use a schedule from savepoint.optimizers.schedules (for example "
                    "InverseTimeDecay)" if key == "decay" else f"remove {key}")
            raise ConfigError(f"{cls_name} does not support {key}={value!r}; savepoint accepts "
                              f"only {key}={allowed[0]!r}. To fix it, {hint}.")
    if kwargs:
        raise ConfigError(f"{cls_name} got unexpected keyword argument(s) {sorted(kwargs)}. "
                          f"Check the spelling of the optimizer arguments.")


def check_non_negative(name: str, value: Any) -> float | None:
    """``None`` or a finite float ``>= 0`` (clip thresholds, weight decay).

    Example:
        >>> check_non_negative("clipnorm", 1)
        1.0
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise ConfigError(f"Expected {name} to be a non-negative float or None. Received: "
                          f"{name}={value!r}.")
    return float(value)


def check_lr(value: Any) -> Any:
    """A learning rate: a schedule or callable as is, else a finite float ``>= 0``.

    Example:
        >>> check_lr("0.5")
        0.5
    """
    if callable(value):
        return value
    try:
        lr = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Expected learning_rate to be a float or a LearningRateSchedule. "
                          f"Received: {value!r}.") from None
    if not math.isfinite(lr) or lr < 0:
        raise ConfigError(f"Expected learning_rate to be a non-negative finite float. "
                          f"Received: learning_rate={value!r}.")
    return lr


def check_float(cls: str, name: str, value: Any, minimum: float = 0.0,
                strict: bool = False) -> float:
    """``value`` as a float >= ``minimum`` (> when ``strict``), else a ConfigError.

    Example:
        >>> check_float("Adamax", "beta_1", 0.9)
        0.9
    """
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (
        value > minimum if strict else value >= minimum)
    if not ok:
        bound = ">" if strict else ">="
        raise ConfigError(f"{cls}: expected {name} to be a float {bound} {minimum}. Received: "
                          f"{name}={value!r}.")
    return float(value)
