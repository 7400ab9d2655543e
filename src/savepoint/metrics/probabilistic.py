"""Loss-named metrics: cross-entropies, hinge, KL divergence and Poisson averaged over samples."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.losses import probabilistic as prob
from savepoint.losses import regression as reg
from savepoint.losses.base import align_weight
from savepoint.metrics.base import MeanMetricWrapper, metric_function
from savepoint.serialization import builtin

for _fn in (prob.binary_crossentropy, prob.categorical_crossentropy,
            prob.sparse_categorical_crossentropy, reg.hinge, reg.squared_hinge,
            reg.kl_divergence, reg.poisson):
    metric_function(_fn)


@builtin("metrics", "binary_crossentropy")
class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy.

    Example:
        >>> m = BinaryCrossentropy(); m.update_state([[1.0]], [[0.5]]); round(float(m.result()), 4)
        0.6931
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0):
        super().__init__(prob.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


@builtin("metrics", "categorical_crossentropy")
class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of one-hot labels.

    Example:
        >>> m = CategoricalCrossentropy(); m.update_state([[0, 1]], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
        super().__init__(prob.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@builtin("metrics", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean sparse categorical cross-entropy; labels equal to ``ignore_class`` are skipped.

    Example:
        >>> m = SparseCategoricalCrossentropy(); m.update_state([1], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: int | None = None, axis: int = -1):
        super().__init__(prob.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ignore = self._fn_kwargs["ignore_class"]
        if ignore is not None:
            y_pred_t = torch.as_tensor(y_pred)
            labels = torch.as_tensor(y_true, device=y_pred_t.device)
            if labels.dim() == y_pred_t.dim():
                labels = labels.squeeze(-1)
            valid = (labels != ignore).to(torch.float32)
            sample_weight = valid if sample_weight is None else \
                align_weight(sample_weight, valid) * valid
        super().update_state(y_true, y_pred, sample_weight)


@builtin("metrics", "hinge")
class Hinge(MeanMetricWrapper):
    """The mean hinge loss (0/1 labels are mapped to -1/1).

    Example:
        >>> m = Hinge(); m.update_state([[1.0]], [[0.25]]); float(m.result())
        0.75
    """

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(reg.hinge, name=name, dtype=dtype)


@builtin("metrics", "squared_hinge")
class SquaredHinge(MeanMetricWrapper):
    """The mean squared hinge loss (0/1 labels are mapped to -1/1).

    Example:
        >>> m = SquaredHinge(); m.update_state([[1.0]], [[0.5]]); float(m.result())
        0.25
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(reg.squared_hinge, name=name, dtype=dtype)


@builtin("metrics", "kullback_leibler_divergence", "kl_divergence", "kld", "KLD")
class KLDivergence(MeanMetricWrapper):
    """The mean Kullback-Leibler divergence between label and predicted distributions.

    Example:
        >>> m = KLDivergence(); m.update_state([[1.0, 0.0]], [[1.0, 0.0]]); float(m.result())
        0.0
    """

    def __init__(self, name: str = "kullback_leibler_divergence", dtype: Any = None):
        super().__init__(reg.kl_divergence, name=name, dtype=dtype)


@builtin("metrics", "poisson")
class Poisson(MeanMetricWrapper):
    """The mean Poisson loss ``y_pred - y_true * log(y_pred)``.

    Example:
        >>> m = Poisson(); m.update_state([[0.0]], [[1.0]]); float(m.result())
        1.0
    """

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(reg.poisson, name=name, dtype=dtype)
