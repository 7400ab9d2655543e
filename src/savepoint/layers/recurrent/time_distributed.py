"""``TimeDistributed``: apply a layer to every time step (folds time into the batch, one call).

Example:
    >>> import torch
    >>> from savepoint.layers import Dense
    >>> TimeDistributed(Dense(2))(torch.ones(3, 4, 5)).shape
    torch.Size([3, 4, 2])
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, deserialize, serialize


@builtin("layers")
class TimeDistributed(Layer):
    """``TimeDistributed(layer)``: ``(batch, time, ...)`` -> ``layer`` on each ``(batch, ...)``.

    The wrapped layer's weights keep their own names (tf.keras: ``time_distributed/kernel``);
    in checkpoints it is the child ``layer``.

    Example:
        >>> import torch
        >>> from savepoint.layers import Dense
        >>> td = TimeDistributed(Dense(3)); _ = td(torch.ones(2, 4, 5))
        >>> [w.shape for w in td.weights]
        [(5, 3), (3,)]
    """

    supports_masking = True

    def __init__(self, layer: Any, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ConfigError(f"TimeDistributed expected a savepoint Layer. Received: "
                              f"{layer!r}. Fix: wrap a layer such as Dense(8).")
        super().__init__(**kwargs)
        self.layer = layer
        if self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
            self._set_initial_weights()

    def build(self, input_shape: Any) -> None:
        if len(input_shape) < 3:
            raise ShapeError(f"TimeDistributed expected inputs of rank >= 3 (batch, time, "
                             f"...). Received input_shape={tuple(input_shape)}.")
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))
            self.layer.built = True
        from savepoint.layers.recurrent.rnn import scope_weight_paths
        scope_weight_paths(self.layer, self.name)
        self.built = True

    def call(self, inputs: torch.Tensor, mask: Any = None, training: bool = False) -> Any:
        batch, steps = inputs.shape[0], inputs.shape[1]
        flat = inputs.reshape((batch * steps,) + tuple(inputs.shape[2:]))
        kwargs: dict = {"training": training}
        if mask is not None and self.layer._call_has_mask:
            kwargs["mask"] = torch.as_tensor(mask).reshape((batch * steps,) +
                                                           tuple(mask.shape[2:]))
        out = self.layer(flat, **kwargs)
        return out.reshape((batch, steps) + tuple(out.shape[1:]))

    def compute_output_shape(self, input_shape: Any) -> Any:
        inner = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        config = dict(config)
        return cls(deserialize(config.pop("layer"), "layers"), **config)


__all__ = ["TimeDistributed"]
