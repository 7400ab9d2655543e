"""``InputLayer`` and ``Input``: the entry of a functional model and its symbolic tensor."""

from __future__ import annotations

from typing import Any

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.symbolic import KerasTensor, Node
from savepoint.serialization import builtin


@builtin("layers")
class InputLayer(Layer):
    """The entry of a functional model; ``Input(shape)`` makes one and returns its tensor.

    Example:
        >>> InputLayer(input_shape=(4,)).get_config()["batch_input_shape"]
        [None, 4]
    """

    def __init__(self, input_shape: tuple | None = None, batch_size: int | None = None,
                 dtype: Any = None, name: str | None = None, batch_input_shape: tuple | None = None,
                 shape: tuple | None = None, sparse: bool = False, ragged: bool = False, **kwargs):
        if name is None:
            name = backend.unique_name("input", zero_based=False)
        shape = shape if shape is not None else input_shape
        if batch_input_shape is None:
            if shape is None:
                raise ConfigError("InputLayer expected `shape` or `batch_input_shape`. Received "
                                  "neither. Pass for example shape=(784,).")
            batch_input_shape = (batch_size,) + backend.shape_tuple(shape)
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_input_shape, **kwargs)
        self.built = True
        tensor = KerasTensor(self._batch_input_shape, dtype=self.dtype, name=self.name)
        self._inbound_nodes.append(Node(self, (), {}, tensor))
        tensor._history = (self, 0, 0)

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name}


def Input(shape: tuple | None = None, batch_size: int | None = None, name: str | None = None,
          dtype: Any = None, batch_shape: tuple | None = None, **kwargs: Any) -> KerasTensor:
    """A symbolic input for functional models.

    Example:
        >>> Input(shape=(784,)).shape
        (None, 784)
    """
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_input_shape=batch_shape, **kwargs)
    return layer.output


__all__ = ["Input", "InputLayer"]
