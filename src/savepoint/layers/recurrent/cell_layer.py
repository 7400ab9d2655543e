"""``CellLayer``: the shared shape of SimpleRNN, LSTM and GRU (an RNN owning one built-in cell
whose arguments it takes and reports flat, as tf.keras's configs do).

Example:
    >>> from savepoint.layers.recurrent import LSTM
    >>> LSTM(4).cell.name, LSTM(4).units
    ('lstm_cell', 4)
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError
from savepoint.layers.base import _ACCEPTED_LEGACY_KWARGS
from savepoint.layers.recurrent.rnn import RNN, RNN_ARGS

_LAYER_ARGS = set(RNN_ARGS) | {"zero_output_for_mask", "name", "trainable", "dtype",
                               "input_shape", "batch_input_shape", "input_length",
                               "activity_regularizer"} | \
    _ACCEPTED_LEGACY_KWARGS
_CELL_ATTRS = ("units", "activation", "recurrent_activation", "use_bias", "dropout",
               "recurrent_dropout", "kernel_initializer", "recurrent_initializer",
               "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
               "bias_regularizer", "kernel_constraint", "recurrent_constraint",
               "bias_constraint", "unit_forget_bias", "reset_after", "implementation")


class CellLayer(RNN):
    """An RNN built from its cell's arguments; subclasses set ``cell_class``.

    Example:
        >>> from savepoint.layers.recurrent import GRU
        >>> sorted(k for k in GRU(2).get_config() if k.startswith("re"))[:3]
        ['recurrent_activation', 'recurrent_constraint', 'recurrent_dropout']
    """

    cell_class: type = None  # type: ignore[assignment]

    def __init__(self, units: int, **kwargs: Any):
        kwargs.pop("use_cudnn", None)  # Keras 3: torch picks its kernel itself
        layer_kwargs = {k: v for k, v in kwargs.items() if k in _LAYER_ARGS}
        cell_kwargs = {k: v for k, v in kwargs.items() if k not in _LAYER_ARGS}
        unknown = set(cell_kwargs) - set(_cell_params(self.cell_class))
        if unknown:
            raise ConfigError(f"Keyword argument(s) not understood by {type(self).__name__}: "
                              f"{sorted(unknown)}. Remove them or check their spelling.")
        cell = self.cell_class(units, name=_cell_name(self.cell_class),
                               dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               **cell_kwargs)
        super().__init__(cell, **layer_kwargs)

    def get_config(self) -> dict:
        cell = {k: v for k, v in self.cell.get_config().items()
                if k not in ("name", "trainable", "dtype")}
        config = self._rnn_config()
        config.update(cell)
        config.setdefault("activity_regularizer", None)
        return _keras_order(config)

    @classmethod
    def from_config(cls, config: dict) -> "CellLayer":
        return cls(**config)


def _cell_name(cell_class: type) -> str:
    import re
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cell_class.__name__).lower().replace("l_s_t_m",
                                                                              "lstm") \
        .replace("g_r_u", "gru").replace("r_n_n", "rnn")


def _cell_params(cell_class: type) -> list[str]:
    import inspect
    names = []
    for klass in cell_class.__mro__:
        if "__init__" in vars(klass):
            names += list(inspect.signature(klass.__init__).parameters)
    return [n for n in names if n not in ("self", "kwargs", "units")]


_ORDER = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
          "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
          "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
          "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
          "recurrent_dropout", "implementation", "reset_after")


def _keras_order(config: dict) -> dict:
    """tf.keras's key order: the layer's arguments, then the cell's in Keras's order."""
    head = {k: v for k, v in config.items() if k not in _ORDER}
    return {**head, **{k: config[k] for k in _ORDER if k in config}}


def _delegate(attr: str) -> property:
    return property(lambda self: getattr(self.cell, attr),
                    doc=f"The cell's ``{attr}`` (Keras exposes it on the layer).")


for _attr in _CELL_ATTRS:
    setattr(CellLayer, _attr, _delegate(_attr))

__all__ = ["CellLayer"]
