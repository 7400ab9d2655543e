"""``CategoricalHinge`` metric: the mean categorical hinge loss over all samples seen."""

from __future__ import annotations

from typing import Any

from savepoint.losses.categorical_hinge import categorical_hinge
from savepoint.metrics.base import MeanMetricWrapper, metric_function
from savepoint.serialization import builtin

metric_function(categorical_hinge)


@builtin("metrics", "categorical_hinge")
class CategoricalHinge(MeanMetricWrapper):
    """The mean of ``max(max_neg - pos + 1, 0)``, ``tf.keras.metrics.CategoricalHinge``.

    Example:
        >>> m = CategoricalHinge(); m.update_state([[0.0, 1.0]], [[0.5, 0.5]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)


__all__ = ["CategoricalHinge"]
