"""Frozen variable values: a background save of any format reads the host copies taken when
the save was asked for, while training goes on changing the live variables.

``capture`` copies every variable of a model (weights and optimizer state) on the caller's
thread; ``writing_from`` makes ``value`` answer with those copies in the thread that writes the
file, so a handler's ordinary save code writes the snapshot without knowing it.

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(1,))])
    >>> values = capture(m, lambda ts: [t.detach().clone() for t in ts])
    >>> kernel = m.weights[0]
    >>> kernel.assign([[5.0]])
    >>> with writing_from(values):
    ...     float(value(kernel)[0, 0]) != 5.0
    True
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

import torch

_STATE = threading.local()


def value(var: Any) -> torch.Tensor:
    """The tensor a save should write for ``var``: its frozen copy inside ``writing_from``,
    else its live value.

    Example:
        >>> import torch
        >>> from savepoint.layers.variable import Variable
        >>> value(Variable(torch.ones(2), name="v", path="v")).tolist()
        [1.0, 1.0]
    """
    frozen = getattr(_STATE, "values", None)
    if frozen is not None:
        copy = frozen.get(id(var.value))
        if copy is not None:
            return copy
    return var.value


def capture(model: Any, copy: Callable[[list[torch.Tensor]], list[torch.Tensor]]
            ) -> dict[int, torch.Tensor]:
    """Host copies of every variable the model's checkpoint holds, keyed by live tensor.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(1,))])
        >>> len(capture(m, lambda ts: [t.clone() for t in ts]))
        2
    """
    from savepoint.saving.engine.checkpoint_io import WeightsRoot
    from savepoint.saving.mapping.object_graph import collect
    live = [var.value for _, var in collect(WeightsRoot(model)).keyed_variables]
    return {id(t): c for t, c in zip(live, copy(live))}


@contextlib.contextmanager
def writing_from(values: dict[int, torch.Tensor]) -> Iterator[None]:
    """Within this block (this thread only), ``value`` answers with ``values``.

    Example:
        >>> with writing_from({}):
        ...     pass
    """
    previous = getattr(_STATE, "values", None)
    _STATE.values = values
    try:
        yield
    finally:
        _STATE.values = previous


__all__ = ["capture", "value", "writing_from"]
