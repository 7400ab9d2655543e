"""``StackedRNNCells``: several cells run one after another inside each time step.

Example:
    >>> import torch
    >>> from savepoint.layers.recurrent.cells import GRUCell, LSTMCell
    >>> stack = StackedRNNCells([GRUCell(3), LSTMCell(2)])
    >>> out, states = stack(torch.ones(1, 4), stack.get_initial_state(1))
    >>> tuple(out.shape), len(states)
    ((1, 2), 2)
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, deserialize, serialize


def output_size_of(cell: Any) -> int:
    """A cell's ``output_size``, or Keras's default: its (first) state size.

    Example:
        >>> from savepoint.layers.recurrent.cells import LSTMCell
        >>> output_size_of(LSTMCell(5))
        5
    """
    size = getattr(cell, "output_size", None)
    if size is None:
        size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) \
            else cell.state_size
    return int(size)


@builtin("layers")
class StackedRNNCells(Layer):
    """Cells applied in order each step; the states are one list per cell (Keras's nesting).

    Example:
        >>> from savepoint.layers.recurrent.cells import SimpleRNNCell
        >>> StackedRNNCells([SimpleRNNCell(2), SimpleRNNCell(3)]).output_size
        3
    """

    def __init__(self, cells: list, **kwargs: Any):
        super().__init__(**kwargs)
        cells = list(cells)
        for cell in cells:
            if not (hasattr(cell, "call") and hasattr(cell, "state_size")):
                raise ConfigError(f"StackedRNNCells expected cells with `call` and "
                                  f"`state_size`. Received: {cell!r}. Fix: pass cells such as "
                                  f"LSTMCell(32).")
        if not cells:
            raise ConfigError("StackedRNNCells expected at least one cell. Received [].")
        self.cells = cells

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return output_size_of(self.cells[-1])

    def get_initial_state(self, inputs: Any = None, batch_size: int | None = None,
                          dtype: Any = None, device: Any = None) -> list:
        """One list of zero states per cell (Keras 2's signature, as the cells')."""
        from savepoint.layers.recurrent.rnn import zero_states
        if isinstance(inputs, int):
            inputs, batch_size = None, inputs
        if inputs is not None:
            batch_size, dtype = inputs.shape[0], dtype or inputs.dtype
            device = device or inputs.device
        if batch_size is None:
            raise ConfigError(f"Layer '{self.name}' expected `inputs` or `batch_size` to size "
                              f"its initial state. Received neither.")
        dtype = backend.torch_dtype(dtype) if isinstance(dtype, str) else dtype
        return [zero_states(c, batch_size, dtype or self._torch_dtype,
                            device or self._device()) for c in self.cells]

    def reset_dropout_mask(self) -> None:
        for c in self.cells:
            getattr(c, "reset_dropout_mask", lambda: None)()

    def reset_recurrent_dropout_mask(self) -> None:
        for c in self.cells:
            getattr(c, "reset_recurrent_dropout_mask", lambda: None)()

    def build(self, input_shape: Any) -> None:
        dim = input_shape[-1]
        for cell in self.cells:
            if not cell.built:
                cell.build((None, dim))
                cell.built = True
            dim = output_size_of(cell)
        self.built = True

    def _build_from(self, inputs: Any) -> None:
        self.build((None,) + tuple(inputs.shape[1:]))

    def call(self, inputs: torch.Tensor, states: list, training: bool = False) -> tuple:
        new_states = []
        for cell, state in zip(self.cells, states):
            nested = isinstance(state, (list, tuple))
            # our cells step directly; others through __call__ (it drops an unused training)
            step = cell.call if hasattr(cell, "_step") else cell
            inputs, state = step(inputs, list(state) if nested else [state], training=training)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        return inputs, new_states

    def get_config(self) -> dict:
        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict) -> "StackedRNNCells":
        config = dict(config)
        config["cells"] = [deserialize(c, "layers") for c in config.get("cells", [])]
        return cls(**config)


__all__ = ["StackedRNNCells"]
