"""A layer's losses and added metrics: regularization, ``add_loss``, ``add_metric`` and the
activity regularizer's per-call loss (the ``Layer`` base class mixes this in).

Example:
    >>> from savepoint.layers import Dense
    >>> import torch
    >>> d = Dense(1, kernel_regularizer="l2"); _ = d(torch.ones(1, 2)); len(d.losses)
    1
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.symbolic import flatten

# Set once any layer calls add_loss: fit then collects call-time losses every step.
_ADD_LOSS_USED = [False]


class LossesMixin:
    """``losses``, ``add_loss``, ``add_metric`` for ``Layer`` (which supplies ``_regularizers``,
    ``_own_losses``, ``_sublayers`` and ``_flat_layers``).

    Example:
        >>> from savepoint.layers import Layer
        >>> issubclass(Layer, LossesMixin)
        True
    """

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization and ``add_loss`` losses of this layer and its children."""
        found = [reg(var.value) for var, reg in self._regularizers] + list(self._own_losses)
        found += [fn() for fn in self.__dict__.get("_callable_losses", ())]
        for layer in self._sublayers():
            found.extend(layer.losses)
        return found

    def add_loss(self, value: Any) -> None:
        """Add a loss to ``fit``'s objective: a tensor computed in ``call()`` (it holds for that
        call only, as in Keras) or a zero-argument callable evaluated at every step.

        Example:
            >>> from savepoint.layers import Layer
            >>> class L(Layer):
            ...     def call(self, x):
            ...         self.add_loss(x.abs().mean())
            ...         return x
            >>> l = L(); _ = l(torch.ones(2, 2)); [float(v) for v in l.losses]
            [1.0]
        """
        _ADD_LOSS_USED[0] = True
        if callable(value) and not isinstance(value, torch.Tensor):
            self.__dict__.setdefault("_callable_losses", []).append(value)
        else:
            self._own_losses.append(value)

    def add_metric(self, value: Any, name: str | None = None,
                   aggregation: str | None = None) -> None:
        """Track ``value`` (computed in ``call()``) as a metric: its mean over the epoch is
        reported under ``name`` by ``fit``/``evaluate``, as Keras 2's ``add_metric`` does.

        Example:
            >>> from savepoint.layers import Layer
            >>> class L(Layer):
            ...     def call(self, x):
            ...         self.add_metric(x.mean(), name="mean_x")
            ...         return x
            >>> l = L(); _ = l(torch.ones(2, 2)); float(l._added_metrics["mean_x"].result())
            1.0
        """
        if aggregation not in (None, "mean"):
            raise ConfigError(f"add_metric expected aggregation=None or 'mean'. Received: "
                              f"aggregation={aggregation!r}. Fix: pass a Metric's result, "
                              f"averaged, or leave aggregation unset.")
        if not name:
            raise ConfigError("add_metric expected a `name` for the metric. Received none. "
                              "Fix: pass name='...', e.g. add_metric(x, name='mean_x').")
        metrics = self.__dict__.setdefault("_added_metrics", {})
        if name not in metrics:
            from savepoint.metrics.base import Mean
            metrics[name] = Mean(name=name)
        if isinstance(value, torch.Tensor):
            value = value.detach()
        metrics[name].update_state(value)

    def _clear_call_losses(self) -> None:
        for layer in self._flat_layers(include_self=True):
            layer._own_losses.clear()

    def _activity_losses(self, outputs: Any) -> None:
        # tf.keras: each output's regularizer(output) / batch size, so the strength does not
        # depend on the batch size
        for out in flatten(outputs):
            if isinstance(out, torch.Tensor) and out.dim() > 0:
                self.add_loss(self.activity_regularizer(out) / out.shape[0])


__all__ = ["LossesMixin"]
