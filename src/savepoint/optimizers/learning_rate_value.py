"""``LearningRateValue``: the float ``optimizer.learning_rate`` returns, which still knows its
optimizer, so Keras 2's ``K.set_value(model.optimizer.lr, x)`` and ``optimizer.lr.assign(x)``
change the learning rate as they do in tf.keras."""

from __future__ import annotations

from typing import Any


class LearningRateValue(float):
    """A float (arithmetic, formatting and JSON as usual) with ``assign``/``numpy`` and a
    link to the optimizer it came from.

    Example:
        >>> from savepoint.optimizers import SGD
        >>> opt = SGD(0.1); opt.lr.assign(0.5); opt.learning_rate
        0.5
    """

    _optimizer: Any

    def __new__(cls, value: float, optimizer: Any = None) -> "LearningRateValue":
        obj = super().__new__(cls, value)
        obj._optimizer = optimizer
        return obj

    def assign(self, value: Any) -> None:
        """Set the optimizer's learning rate (``tf.Variable.assign``'s spelling)."""
        if self._optimizer is None:
            from savepoint.errors import ConfigError
            raise ConfigError("This learning rate value is not attached to an optimizer. Fix: "
                              "assign `optimizer.learning_rate = value`.")
        self._optimizer.learning_rate = float(value)

    def numpy(self) -> float:
        """The value as a plain float (``tf.Variable.numpy``'s spelling)."""
        return float(self)

    def __repr__(self) -> str:
        return float.__repr__(self)

    def __reduce__(self) -> tuple:
        return (float, (float(self),))


__all__ = ["LearningRateValue"]
