"""``Bidirectional``: a recurrent layer run forwards and backwards, outputs merged.

Example:
    >>> import torch
    >>> from savepoint.layers.recurrent import LSTM
    >>> Bidirectional(LSTM(3, return_sequences=True))(torch.ones(2, 5, 4)).shape
    torch.Size([2, 5, 6])
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.recurrent.rnn import scope_weight_paths
from savepoint.serialization import builtin, deserialize, serialize

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@builtin("layers")
class Bidirectional(Layer):
    """``Bidirectional(layer, merge_mode="concat", backward_layer=None)`` as tf.keras 2.

    The wrapped layer is copied twice from its config: ``forward_layer`` (named
    ``forward_<name>``) and ``backward_layer`` (``backward_<name>``, ``go_backwards`` flipped);
    the backward outputs are put back in time order before merging. ``merge_mode=None`` returns
    the two outputs as a list.

    Example:
        >>> import torch
        >>> from savepoint.layers.recurrent import GRU
        >>> fwd, bwd = Bidirectional(GRU(2), merge_mode=None)(torch.ones(1, 3, 2))
        >>> tuple(fwd.shape), tuple(bwd.shape)
        ((1, 2), (1, 2))
    """

    supports_masking = True

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any):
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ConfigError(f"Bidirectional expected a recurrent layer such as LSTM(32). "
                              f"Received: {layer!r}. Fix: wrap an RNN, LSTM, GRU or "
                              f"SimpleRNN layer.")
        if merge_mode not in MERGE_MODES:
            raise ConfigError(f"Bidirectional expected merge_mode in {list(MERGE_MODES)}. "
                              f"Received: merge_mode={merge_mode!r}.")
        if weights is not None:
            raise ConfigError("Bidirectional expected weights=None. Received initial weights. "
                              "Fix: call set_weights() after building the layer.")
        if backward_layer is not None and (not isinstance(backward_layer, Layer) or
                                           not hasattr(backward_layer, "go_backwards")):
            raise ConfigError(f"Bidirectional expected `backward_layer` to be a recurrent "
                              f"layer. Received: {backward_layer!r}.")
        kwargs.setdefault("name", None)
        super().__init__(**kwargs)
        self._layer_config = serialize(layer)
        self._custom_backward = backward_layer is not None
        forward = _copy(layer, name=f"forward_{layer.name}")
        if backward_layer is None:
            backward = _copy(layer, name=f"backward_{layer.name}",
                             go_backwards=not layer.go_backwards)
        else:
            backward = backward_layer
        if backward.go_backwards == forward.go_backwards:
            raise ConfigError(f"Bidirectional expected the backward layer's go_backwards to "
                              f"differ from the forward layer's. Received "
                              f"go_backwards={backward.go_backwards} for both. Fix: pass "
                              f"go_backwards=True to the backward layer.")
        for key in ("return_sequences", "return_state", "stateful"):
            if getattr(backward, key) != getattr(forward, key):
                raise ConfigError(f"Bidirectional expected the forward and backward layers to "
                                  f"share `{key}`. Received {getattr(forward, key)} and "
                                  f"{getattr(backward, key)}.")
        for sub in (forward, backward):  # Keras: padded steps output zeros in sequences
            sub.zero_output_for_mask = sub.return_sequences
        self.forward_layer, self.backward_layer = forward, backward
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = forward.return_sequences, \
            forward.return_state
        self.stateful = forward.stateful
        if self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
            self._set_initial_weights()

    def build(self, input_shape: Any) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(input_shape)
                sub.built = True
        scope_weight_paths(self, self.name)
        self.built = True

    def _build_from(self, inputs: Any) -> None:
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        self.build((None,) + tuple(first.shape[1:]))

    def _keras_call(self, *args: Any, **kwargs: Any) -> Any:
        constants = kwargs.get("constants")
        if constants is not None:  # refused on the symbolic call too, before any graph
            raise ConfigError(f"Layer '{self.name}' expected constants=None: Bidirectional "
                              f"does not pass constants to its RNNs in savepoint. Received "
                              f"{len(constants) if isinstance(constants, (list, tuple)) else 1}"
                              f" constant(s). Fix: call RNN(cell, go_backwards=...) twice "
                              f"with constants= and merge the outputs.")
        return super()._keras_call(*args, **kwargs)

    def call(self, inputs: Any, mask: Any = None, training: bool = False,
             initial_state: Any = None) -> Any:
        if isinstance(inputs, (list, tuple)):
            inputs, extra = inputs[0], list(inputs[1:])
            initial_state = extra or initial_state
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, mask=mask, training=training, initial_state=fwd_state)
        y_rev = self.backward_layer(inputs, mask=mask, training=training,
                                    initial_state=bwd_state)
        states: list = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        merged = _merge(self.merge_mode, y, y_rev)
        if self.return_state:
            return (merged if isinstance(merged, list) else [merged]) + states
        return merged

    def compute_output_shape(self, input_shape: Any) -> Any:
        forward = self.forward_layer.compute_output_shape(input_shape)
        out, states = (forward[0], list(forward[1:])) if self.return_state else (forward, [])
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (None if out[-1] is None else 2 * out[-1],)
        outputs = [tuple(out), tuple(out)] if self.merge_mode is None else [tuple(out)]
        if self.return_state:
            return outputs + states + states
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        count = 2 if self.merge_mode is None else 1
        if self.return_state:
            states = len(self.forward_layer.compute_mask(inputs, None) or [None]) - 1
            return [out] * count + [None] * (2 * states)
        return [out] * count if count == 2 else out

    def reset_states(self, states: Any = None) -> None:
        """Zero both directions' carried states, or set them: ``states`` holds the forward
        layer's states then the backward layer's (stateful layers only)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = list(states)
        if len(states) % 2:
            raise ConfigError(f"Layer '{self.name}' expected as many forward as backward "
                              f"states. Received {len(states)} states. Fix: pass the forward "
                              f"layer's states followed by the backward layer's.")
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    def get_config(self) -> dict:
        config = {**super().get_config(), "layer": self._layer_config,
                  "merge_mode": self.merge_mode}
        if self._custom_backward:
            config["backward_layer"] = serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        config = dict(config)
        inner = config.pop("layer")
        if isinstance(inner, dict) and str(inner.get("config", {}).get("name", "")).startswith(
                "forward_"):  # Keras 3 records the forward copy: keep the user's layer name
            inner = {**inner, "config": {**inner["config"],
                                         "name": inner["config"]["name"][len("forward_"):]}}
        layer = deserialize(inner, "layers")
        backward = config.pop("backward_layer", None)
        if isinstance(backward, dict):
            backward = deserialize(backward, "layers")
            # Keras 3 always records the backward layer; a plain copy is no custom layer.
            if backward.get_config() == _copy(layer, name=backward.name,
                                              go_backwards=not layer.go_backwards).get_config():
                backward = None
        return cls(layer, backward_layer=backward, **config)


def _copy(layer: Layer, **overrides: Any) -> Layer:
    """A fresh ``layer`` from its config; its cell classes (a custom cell, the cells of a
    ``StackedRNNCells``) resolve without registration, as tf.keras's Bidirectional does."""
    from savepoint.serialization import custom_object_scope
    config = {**layer.get_config(), **overrides}
    config.pop("batch_input_shape", None)
    cell = getattr(layer, "cell", None)
    cells = [cell, *getattr(cell, "cells", [])] if cell is not None else []
    with custom_object_scope({type(c).__name__: type(c) for c in cells}):
        return type(layer).from_config(config)


def _merge(mode: str | None, y: torch.Tensor, y_rev: torch.Tensor) -> Any:
    if mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    if mode == "mul":
        return y * y_rev
    return [y, y_rev]


__all__ = ["Bidirectional"]
