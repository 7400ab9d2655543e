"""``RNN``: runs a cell over the time axis (Keras's RNN layer), with the fused-kernel fast path.

Everything the recurrent layers share lives here: ``return_sequences``/``return_state``,
``go_backwards``, ``initial_state`` (a keyword or extra inputs), masks (from ``mask=`` or the
``_keras_mask`` a previous layer left on its output), ``stateful``/``reset_states`` and
dropout. The step loop is a Python loop over the cell's recurrent half (the input half is one
matmul for the whole sequence); torch's fused kernels (``fused.py``) replace it whenever they
compute the same thing: a built-in cell with default activations, no recurrent dropout in
training, and no mask or a right-padded one.

Example:
    >>> import torch
    >>> from savepoint.layers.recurrent.cells import SimpleRNNCell
    >>> RNN(SimpleRNNCell(4), return_sequences=True)(torch.ones(2, 5, 3)).shape
    torch.Size([2, 5, 4])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.recurrent import fused
from savepoint.layers.recurrent.stacked_cells import StackedRNNCells, output_size_of
from savepoint.serialization import builtin, deserialize, serialize

RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
            "time_major")


def scope_weight_paths(layer: Layer, scope: str) -> None:
    """Name nested weights as tf.keras does (``lstm/lstm_cell/kernel``): each sublayer adds
    its name to the scope of its parent.

    Example:
        >>> from savepoint.layers.recurrent.cells import GRUCell
        >>> layer = RNN(GRUCell(2, name="cell"), name="r"); layer.build((None, 3, 4))
        >>> scope_weight_paths(layer, "outer/r"); layer.weights[0].path
        'outer/r/cell/kernel'
    """
    for var in layer._variables:
        var.path = f"{scope}/{var.name}"
    for child in layer._sublayers():
        scope_weight_paths(child, f"{scope}/{child.name}")


def _flat(states: Any) -> list:
    if isinstance(states, (list, tuple)):
        return [leaf for s in states for leaf in _flat(s)]
    return [states]


def _nest(flat: list, cell: Any) -> list:
    """Flat states -> what the cell's ``call`` takes and returns: its list of states, or for a
    ``StackedRNNCells`` one such list per cell (``state_size`` alone is ambiguous: an LSTM's
    ``[u, u]`` looks like two stacked simple cells)."""
    if not isinstance(cell, StackedRNNCells):
        return list(flat)
    out, start = [], 0
    for child in cell.cells:
        count = len(_flat(child.state_size))
        out.append(_nest(flat[start:start + count], child))
        start += count
    return out


def zero_states(cell: Any, batch: int, dtype: torch.dtype, device: Any) -> list:
    """The cell's zero states, nested as its ``state_size``: our cells' own
    ``get_initial_state``, zeros of each size for any other cell (Keras's default).

    Example:
        >>> from savepoint.layers.recurrent.cells import LSTMCell
        >>> [tuple(s.shape) for s in zero_states(LSTMCell(3), 2, torch.float32, "cpu")]
        [(2, 3), (2, 3)]
    """
    from savepoint.layers.recurrent.cells import _Cell
    if isinstance(cell, (_Cell, StackedRNNCells)):
        return cell.get_initial_state(batch_size=batch, dtype=dtype, device=device)
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [torch.zeros(batch, int(s), dtype=dtype, device=device) for s in sizes]


def _tracing() -> bool:
    compiler = torch.compiler
    return compiler.is_compiling() or bool(getattr(compiler, "is_exporting", lambda: False)())


def _where(mask: torch.Tensor, new: Any, old: Any) -> Any:
    if isinstance(new, (list, tuple)):
        return [_where(mask, n, o) for n, o in zip(new, old)]
    return torch.where(mask, new, old)


@builtin("layers")
class RNN(Layer):
    """Run ``cell`` (or a list of cells, stacked) over ``(batch, time, features)`` inputs.

    Example:
        >>> import torch
        >>> from savepoint.layers.recurrent.cells import LSTMCell
        >>> out, h, c = RNN(LSTMCell(2), return_state=True)(torch.ones(1, 3, 4))
        >>> tuple(out.shape), tuple(c.shape)
        ((1, 2), (1, 2))
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, zero_output_for_mask: bool = False, **kwargs: Any):
        if ("input_dim" in kwargs or "input_length" in kwargs) and "input_shape" not in kwargs \
                and "batch_input_shape" not in kwargs:  # Keras 2: (input_length, input_dim)
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim", None))
        kwargs.pop("input_length", None)
        kwargs.pop("input_dim", None)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell, dtype=kwargs.get("dtype"))
        if not (hasattr(cell, "call") and hasattr(cell, "state_size")):
            raise ConfigError(f"{type(self).__name__} expected a cell with `call(inputs, "
                              f"states)` and `state_size`. Received: {cell!r}. Fix: pass e.g. "
                              f"LSTMCell(32).")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll, self.time_major = bool(unroll), bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._num_constants = 0  # set by a call with constants=, or by from_config
        self._states: list[torch.Tensor] | None = None
        if self._batch_input_shape is not None:
            self.build(self._batch_input_shape)
            self.built = True
            self._set_initial_weights()

    # ----- building -----------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0],
                                                                          (tuple, list)):
            input_shape = input_shape[0]  # [inputs, *initial_states]
        if len(input_shape) != 3:
            raise ShapeError(f"Layer '{self.name}' expected inputs of rank 3 (batch, time, "
                             f"features). Received input_shape={tuple(input_shape)}. Fix: "
                             f"reshape the data to 3 dimensions.")
        if not getattr(self.cell, "built", True):
            self.cell.build((None, input_shape[-1]))
            self.cell.built = True
        scope_weight_paths(self, self.name)
        self.built = True

    def _build_from(self, inputs: Any) -> None:
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        self.build((None,) + tuple(first.shape[1:]))

    # ----- states -------------------------------------------------------------------------
    @property
    def states(self) -> list[torch.Tensor] | None:
        """The carried states of a ``stateful`` layer (``None`` before the first call)."""
        return self._states

    def reset_states(self, states: Any = None) -> None:
        """Zero the carried states of a stateful layer, or set them to ``states``.

        Example:
            >>> from savepoint.layers.recurrent.cells import GRUCell
            >>> layer = RNN(GRUCell(2), stateful=True); _ = layer(torch.ones(1, 3, 2))
            >>> layer.reset_states(); layer.states is None
            True
        """
        if not self.stateful:
            raise ConfigError(f"Layer '{self.name}' expected stateful=True to reset its "
                              f"states. Received stateful=False. Fix: build the layer with "
                              f"stateful=True.")
        if states is None:
            self._states = None
            return
        values = [torch.as_tensor(np.asarray(s), dtype=self._torch_dtype, device=self._device())
                  for s in (states if isinstance(states, (list, tuple)) else [states])]
        self._states = values

    def get_initial_state(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        batch = inputs.shape[1 if self.time_major else 0]
        return _flat(zero_states(self.cell, batch, inputs.dtype, inputs.device))

    # ----- calling ------------------------------------------------------------------------
    def _keras_call(self, *args: Any, **kwargs: Any) -> Any:
        """tf.keras 2's ``RNN.__call__``: ``constants=`` (and then ``initial_state=``) join the
        inputs as ``[inputs, *initial_state, *constants]``, which a functional graph records
        and every format saves (with ``num_constants`` in the config)."""
        constants = kwargs.pop("constants", None)
        if constants is None:
            return super()._keras_call(*args, **kwargs)
        constants = list(constants) if isinstance(constants, (list, tuple)) else [constants]
        self._check_constants(constants)
        self._num_constants = len(constants)
        inputs = args[0] if args else kwargs.pop("inputs")
        states = kwargs.pop("initial_state", None)
        states = [] if states is None else _flat(states)
        return super()._keras_call([inputs, *states, *constants], *args[1:], **kwargs)

    def _check_constants(self, constants: list) -> None:
        import inspect
        if "constants" not in inspect.signature(self.cell.call).parameters:
            raise ConfigError(
                f"Layer '{self.name}' expected a cell whose call(inputs, states, constants) "
                f"takes constants. Received {len(constants)} constant(s) for cell "
                f"{type(self.cell).__name__}, which does not support constants (tf.keras "
                f"refuses this too). Fix: pass the values as inputs, or write such a cell.")

    def call(self, inputs: Any, mask: Any = None, training: bool = False,
             initial_state: Any = None) -> Any:
        constants = None
        if isinstance(inputs, (list, tuple)):
            inputs, extra = inputs[0], list(inputs[1:])
            if self._num_constants:
                extra, constants = extra[:-self._num_constants], extra[-self._num_constants:]
            initial_state = extra or initial_state
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        x = inputs.transpose(0, 1) if self.time_major else inputs
        if x.dim() != 3:
            raise ShapeError(f"Layer '{self.name}' expected inputs of rank 3 (batch, time, "
                             f"features). Received shape {tuple(inputs.shape)}.")
        states = self._initial_states(x, initial_state)
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device).bool()
        if constants is not None:
            self._check_constants(constants)
            constants = [torch.as_tensor(c, device=x.device) for c in constants]
            seq, final = self._loop(x.flip(1) if self.go_backwards else x, states,
                                    mask.flip(1) if self.go_backwards and mask is not None
                                    else mask, bool(training), constants)
        else:
            seq, final = self._run(x, states, mask, bool(training))
        if self.stateful:
            self._states = [s.detach() for s in final]
        output = seq if self.return_sequences else seq[:, -1]
        if self.time_major and self.return_sequences:
            output = output.transpose(0, 1)
        return [output] + list(final) if self.return_state else output

    def _initial_states(self, x: torch.Tensor, initial_state: Any) -> list[torch.Tensor]:
        expected = len(_flat(self.cell.state_size))
        if initial_state is not None:
            given = _flat(initial_state)
            if len(given) != expected:
                raise ConfigError(f"Layer '{self.name}' expected {expected} initial state "
                                  f"tensor(s). Received {len(given)}. Fix: pass one tensor "
                                  f"per state (LSTM: [h, c]).")
            return [torch.as_tensor(s, dtype=x.dtype, device=x.device) for s in given]
        if self.stateful and self._states is not None:
            if self._states[0].shape[0] != x.shape[0]:
                raise ShapeError(f"Stateful layer '{self.name}' expected batches of "
                                 f"{self._states[0].shape[0]} samples. Received {x.shape[0]}. "
                                 f"Fix: keep the batch size fixed, or call reset_states().")
            return list(self._states)
        return _flat(zero_states(self.cell, x.shape[0], x.dtype, x.device))

    def _run(self, x: torch.Tensor, states: list, mask: torch.Tensor | None,
             training: bool) -> tuple[torch.Tensor, list]:
        cell = self.cell
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            getattr(cell, reset, lambda: None)()
        # Tracing (torch.export, torch.compile) cannot branch on a mask's values: masked
        # sequences then take the step loop, which has no data-dependent control flow.
        traced = mask is not None and _tracing()
        if fused.can_fuse(cell) and not (training and cell.recurrent_dropout) and not traced:
            lengths = None if mask is None else fused.right_padded_lengths(mask)
            if mask is None or lengths is not None:
                if training and cell.dropout:
                    dp, _ = cell._masks(x[:, 0], states[0], True)
                    x = x * dp[:, None]
                kernel = fused.run_reversed if self.go_backwards else fused.run
                return kernel(cell, x, states, lengths, self.zero_output_for_mask)
        if self.go_backwards:  # Keras reverses the whole sequence, padding included
            x = x.flip(1)
            mask = mask.flip(1) if mask is not None else None
        return self._loop(x, states, mask, training)

    def _loop(self, x: torch.Tensor, states: list, mask: torch.Tensor | None,
              training: bool, constants: list | None = None) -> tuple[torch.Tensor, list]:
        cell = self.cell
        nested = _nest(states, cell)
        if constants is not None:  # Keras 2: call(inputs, states, constants=[...])
            def step(t, s):
                out, new = cell(x[:, t], s, constants=constants, training=training)
                return out, (list(new) if isinstance(new, (list, tuple)) else [new])
        elif hasattr(cell, "_project") and hasattr(cell, "_step"):
            dp, rec = cell._masks(x[:, 0], states[0], training)
            projected = cell._project(x, dp)

            def step(t, s):
                return cell._step(projected[:, t], s, rec)
        else:
            single = not isinstance(cell.state_size, (list, tuple))

            def step(t, s):
                out, new = cell(x[:, t], s, training=training)
                return out, ([new] if single and isinstance(new, torch.Tensor) else new)
        outputs, previous = [], None
        for t in range(x.shape[1]):
            out, new = step(t, nested)
            if mask is not None:
                keep = mask[:, t, None]
                new = _where(keep, new, nested)
                if previous is None or self.zero_output_for_mask:
                    previous = torch.zeros_like(out)
                out = torch.where(keep, out, previous)
            nested, previous = new, out
            outputs.append(out)
        return torch.stack(outputs, 1), _flat(nested)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(_flat(self.cell.state_size))
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0],
                                                                          (tuple, list)):
            input_shape = input_shape[0]
        batch, steps = (input_shape[1], input_shape[0]) if self.time_major \
            else (input_shape[0], input_shape[1])
        units = output_size_of(self.cell)
        if self.return_sequences:
            out = (steps, batch, units) if self.time_major else (batch, steps, units)
        else:
            out = (batch, units)
        if self.return_state:
            return [out] + [(batch, s) for s in _flat(self.cell.state_size)]
        return out

    # ----- config -------------------------------------------------------------------------
    def _rnn_config(self) -> dict:
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "time_major": self.time_major}
        if self._num_constants:
            config["num_constants"] = self._num_constants
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        return config

    def get_config(self) -> dict:
        return {**self._rnn_config(), "cell": serialize(self.cell)}

    @classmethod
    def from_config(cls, config: dict) -> "RNN":
        config = dict(config)
        cell = config.pop("cell")
        num_constants = config.pop("num_constants", 0)
        if isinstance(cell, list):
            cell = [deserialize(c, "layers") for c in cell]
        elif isinstance(cell, dict):
            cell = deserialize(cell, "layers")
        layer = cls(cell, **config)
        layer._num_constants = int(num_constants)
        return layer


__all__ = ["RNN", "scope_weight_paths"]
