"""Learning-rate schedules (``savepoint.optimizers.schedules``), with Keras's names and formulas.

A schedule maps the optimizer's step (its ``iterations`` before the update, counting from 0) to
a learning rate. Schedules compute in Python floats from a host step counter, so an optimizer
using one never synchronises with an accelerator.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from savepoint.errors import ConfigError
from savepoint import serialization
from savepoint.serialization import builtin


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config()``.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __call__(self, step): return 0.1 / 2 ** int(step)
        ...     def get_config(self): return {}
        >>> Halving()(2)
        0.025
    """

    def __call__(self, step: Any) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  f"override __call__(self, step).")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  f"override get_config() in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        """Rebuild the schedule from ``get_config()``."""
        return cls(**config)


def _step(step: Any) -> float:
    value = getattr(step, "value", step)  # a savepoint Variable (optimizer.iterations)
    return float(value)


def _positive(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"Argument {name} must be > 0. Received: {name}={value!r}.")
    return value


class _StepDecay(LearningRateSchedule):
    """Shared by the decays of ``step / decay_steps`` (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def _progress(self, step: Any) -> float:
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@builtin("schedules", "exponential_decay")
class ExponentialDecay(_StepDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase`` the
    exponent is floored.

    Example:
        >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)(15)
        0.05
    """

    def __call__(self, step: Any) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


@builtin("schedules", "piecewise_constant_decay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after ``boundaries[-1]``.

    Example:
        >>> s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> [s(10), s(11), s(21)]
        [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str | None = None):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ConfigError(
                f"The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        if any(b >= a for b, a in zip(boundaries, boundaries[1:])):
            raise ConfigError(f"Expected strictly increasing boundaries. Received: "
                              f"boundaries={boundaries}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step: Any) -> float:
        s = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if s <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@builtin("schedules", "inverse_time_decay")
class InverseTimeDecay(_StepDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with ``staircase``
    ``step / decay_steps`` is floored.

    Example:
        >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)(2)
        0.05
    """

    def __call__(self, step: Any) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


@builtin("schedules", "polynomial_decay")
class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``; with
    ``cycle`` the horizon becomes the first multiple of ``decay_steps`` not below ``step``.

    Example:
        >>> PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)(5)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step: Any) -> float:
        s, horizon = _step(step), float(self.decay_steps)
        if self.cycle:
            horizon *= 1.0 if s == 0 else math.ceil(s / self.decay_steps)
        else:
            s = min(s, horizon)
        fraction = (1.0 - s / horizon) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * fraction + \
            self.end_learning_rate

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


@builtin("schedules", "cosine_decay")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``initial_learning_rate`` to ``warmup_target`` over
    ``warmup_steps``, then ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha)``
    with ``t`` capped at ``decay_steps`` and ``lr0`` the warmup target (or the initial rate).

    Example:
        >>> CosineDecay(0.1, decay_steps=10)(10)
        0.0
        >>> CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=4)(2)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str | None = None, warmup_target: float | None = None,
                 warmup_steps: int = 0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps
        if warmup_target is not None and warmup_steps < 0:
            raise ConfigError(f"Argument warmup_steps must be >= 0. Received: "
                              f"warmup_steps={warmup_steps!r}.")

    def _decay(self, s: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * s / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: Any) -> float:
        s = _step(step)
        if self.warmup_target is None:
            return self._decay(min(s, self.decay_steps), self.initial_learning_rate)
        s = min(s, self.decay_steps + self.warmup_steps)
        if s < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (s / self.warmup_steps) + self.initial_learning_rate
        return self._decay(s - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


@builtin("schedules", "cosine_decay_restarts")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay (SGDR) restarting after ``first_decay_steps``, each period ``t_mul`` times
    longer and starting ``m_mul`` times lower than the one before.

    Example:
        >>> CosineDecayRestarts(0.1, first_decay_steps=10)(10)
        0.1
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str | None = None):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps)
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step: Any) -> float:
        fraction = _step(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul))
                                 / math.log(self.t_mul))
            done = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            fraction = (fraction - done) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


def serialize(schedule: LearningRateSchedule) -> dict:
    """A schedule -> its Keras-shaped config dict.

    Example:
        >>> serialize(ExponentialDecay(0.1, 10, 0.9))["class_name"]
        'ExponentialDecay'
    """
    return serialization.serialize(schedule)


def deserialize(config: Any, custom_objects: dict | None = None) -> LearningRateSchedule:
    """A config dict (or a built-in class name) -> a new schedule.

    Example:
        >>> deserialize(serialize(InverseTimeDecay(0.1, 1, 0.5)))(2)
        0.05
    """
    schedule = serialization.deserialize(config, "schedules", custom_objects)
    if not isinstance(schedule, LearningRateSchedule):
        raise ConfigError(f"Expected a LearningRateSchedule config. Received a config for "
                          f"{type(schedule).__name__}: {config!r}.")
    return schedule


__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "InverseTimeDecay", "PolynomialDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]
