"""``Sequential``: a plain stack of layers, built as soon as its input shape is known."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.core import InputLayer
from savepoint.layers.symbolic import KerasTensor
from savepoint.models.functional import check_input_shape, conform_dtype
from savepoint.models.model import Model
from savepoint.serialization import builtin, deserialize, serialize


@builtin("layers")
class Sequential(Model):
    """A linear stack of layers.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), keras.layers.Dense(1)])
        >>> m.count_params()
        21
    """

    def __init__(self, layers: list | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self._stack = torch.nn.ModuleList()
        self._input_layer: InputLayer | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Any) -> None:
        """Append a layer; an ``Input`` tensor or ``InputLayer`` sets the input shape."""
        if isinstance(layer, KerasTensor):
            layer = layer._history[0]
        if isinstance(layer, InputLayer):
            if len(self._stack):
                raise ConfigError("An InputLayer can only be the first layer of a Sequential.")
            self._input_layer = layer
            self._batch_input_shape = layer._batch_input_shape
            return
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential.add expected a savepoint Layer. Received: {layer!r} "
                              f"of type {type(layer).__name__}.")
        if any(existing is layer for existing in self._stack):
            raise ConfigError(f"Layer '{layer.name}' is already in this Sequential model. "
                              f"Create a new layer instead of adding the same one twice.")
        if not len(self._stack) and self._batch_input_shape is None:
            self._batch_input_shape = layer._batch_input_shape
        self._stack.append(layer)
        if self._batch_input_shape is not None:
            self._build_graph()

    def pop(self) -> None:
        """Remove the last layer."""
        if not len(self._stack):
            raise ConfigError("There are no layers in the model to pop.")
        del self._stack[len(self._stack) - 1]

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _build_graph(self) -> None:
        """Run the stack symbolically from the known input shape, building each layer."""
        if self._input_layer is None:  # Keras names it after the first layer: "dense_input"
            # tf.keras: the first layer's dtype, or the dtype of the data that built the model
            dtype = self.__dict__.pop("_data_dtype", None) or self._stack[0].dtype
            self._input_layer = InputLayer(batch_input_shape=self._batch_input_shape,
                                           name=f"{self._stack[0].name}_input", dtype=dtype)
        x = self._input_layer.output
        for layer in self._stack:
            if not any(n.args and n.args[0] is x for n in layer._inbound_nodes):
                x = layer(x)
            else:
                x = next(n.outputs for n in layer._inbound_nodes if n.args and n.args[0] is x)
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        if input_shape is None:
            input_shape = self._batch_input_shape
        if input_shape is None:
            raise ConfigError("Sequential.build expected an input_shape, e.g. (None, 784). "
                              "Received None and the first layer has no input_shape.")
        self._batch_input_shape = (None,) + tuple(input_shape)[1:]
        self._build_graph()

    def _build_from(self, inputs: Any) -> None:
        if isinstance(inputs, torch.Tensor):
            self._data_dtype = str(inputs.dtype).replace("torch.", "")
        self.build((None,) + tuple(inputs.shape[1:]))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        check_input_shape(inputs, self._batch_input_shape, self.name)
        x = conform_dtype(inputs, self._input_layer) if self._input_layer else inputs
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    @property
    def inputs(self) -> list:
        return [self._input_layer.output] if self._input_layer else None

    @property
    def outputs(self) -> list:
        return [self._stack[-1].output] if self.built and len(self._stack) else None

    @property
    def input_names(self) -> list[str]:
        return [self._input_layer.name] if self._input_layer else []

    @property
    def output_names(self) -> list[str]:
        return [self._stack[-1].name] if len(self._stack) else []

    def _is_network(self) -> bool:
        return True

    def get_config(self) -> dict:
        layers = [serialize(l) for l in self._stack]
        config = {"name": self.name, "layers": layers}
        if self._batch_input_shape is not None:
            input_name = self._input_layer.name if self._input_layer else \
                f"{self._stack[0].name}_input"
            config["layers"] = [{"class_name": "InputLayer", "config": {
                "batch_input_shape": list(self._batch_input_shape),
                "dtype": self._input_layer.dtype if self._input_layer else self.dtype,
                "sparse": False, "ragged": False, "name": input_name},
                "module": "savepoint.layers.core", "registered_name": "InputLayer"}] + layers
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Sequential":
        model = cls(name=config.get("name"))
        for layer_config in config.get("layers", []):
            model.add(deserialize(layer_config, "layers", custom_objects))
        return model


__all__ = ["Sequential"]
