"""Lowerings of the recurrent layers: SimpleRNN, LSTM, GRU, RNN over their cells (or a
StackedRNNCells of them), Bidirectional and TimeDistributed, unrolled over a fixed number of
time steps.

The input half of the first cell is one ``BatchMatMulV2`` over the whole sequence, ``Unpack``ed
into steps; each step is then the recurrent ``MatMul``, a ``Split`` into tf.keras's gates
(LSTM ``i, f, c, o``; GRU ``z, r, h``, ``reset_after``'s two biases) and the activations; the
outputs are ``Pack``ed back when the layer returns sequences. The zero initial states are never
materialized: the first step simply drops the terms they would zero. A Keras mask (from
``Masking``) keeps the state of padded steps with ``m * new + (1 - m) * old``, as tf.keras's
``backend.rnn`` does with its select. A time dimension of ``None`` cannot be unrolled and is
refused, as are stateful layers, time-major inputs, constants and custom cells.

Example:
    >>> sorted(k for k in LOWERINGS if k in RECURRENT)
    ['Bidirectional', 'GRU', 'LSTM', 'RNN', 'SimpleRNN', 'TimeDistributed']
"""

from __future__ import annotations

from typing import Any

from savepoint.exports.lowering.builder import FunctionBuilder, LoweringError
from savepoint.exports.lowering.layers import LOWERINGS, T, _refuse, _variables, activate, lowers
from savepoint.exports.lowering.misc import mask_of
from savepoint.saving.formats.saved_model.schema import DT_INT32
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for

RECURRENT = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "TimeDistributed")
_CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell")


def _steps(layer: Any, shape: tuple) -> int:
    """The static number of time steps of ``layer``'s input, or the fixed-length refusal."""
    steps = shape[1] if len(shape) > 1 else None
    if steps is None:
        raise LoweringError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot be lowered to TensorFlow "
            f"ops: expected a fixed number of timesteps to unroll the loop over. Received "
            f"None (input shape {tuple(shape)}). Fix: give Input a fixed sequence length, "
            f"e.g. keras.Input((20, features)); tf.keras still loads the model from its "
            f"config either way.")
    return int(steps)


def _split(b: FunctionBuilder, x: str, parts: int, axis: int = -1) -> list[str]:
    edge = b.op("Split", [b.scalar(axis, DT_INT32), x], num_split=parts, T=T)
    return [f"{edge.rsplit(':', 1)[0]}:{i}" for i in range(parts)]


def _unpack(b: FunctionBuilder, x: str, count: int, axis: int) -> list[str]:
    edge = b.op("Unpack", [x], num=count, T=T, axis=axis)
    return [f"{edge.rsplit(':', 1)[0]}:{i}" for i in range(count)]


def _pack(b: FunctionBuilder, xs: list[str], axis: int = 1) -> str:
    return b.op("Pack", list(xs), N=len(xs), T=T, axis=axis)


def _add(b: FunctionBuilder, x: str, y: str) -> str:
    return b.op("AddV2", [x, y], T=T)


def _mul(b: FunctionBuilder, x: str, y: str) -> str:
    return b.op("Mul", [x, y], T=T)


def _name(config: dict, key: str, default: str) -> str:
    name = config.get(key, default)
    return name if isinstance(name, str) else str(name.get("class_name", name))


class _Cell:
    """One built-in cell as ops: its weights read once, its input projection and its step."""

    def __init__(self, b: FunctionBuilder, cell: Any, owner: Any):
        kind = type(cell).__name__
        if kind not in _CELLS:
            raise _refuse(owner, f"a SimpleRNNCell, LSTMCell or GRUCell (or a StackedRNNCells "
                                 f"of them); received cell {cell.name!r} ({kind})")
        self.b, self.owner, self.kind = b, owner, kind
        config = cell.get_config()
        self.act = _name(config, "activation", "tanh")
        self.rec_act = _name(config, "recurrent_activation", "sigmoid")
        v = _variables(cell)
        self.kernel, self.rk = b.variable(v["kernel"]), b.variable(v["recurrent_kernel"])
        self.bias = self.rec_bias = None
        self.reset_after = kind == "GRUCell" and bool(config.get("reset_after", True))
        if "bias" in v:
            self.bias = b.variable(v["bias"])
            if self.reset_after:  # (2, 3u): the input bias, then the recurrent one
                self.bias, self.rec_bias = _unpack(b, self.bias, 2, 0)
        self.states = 2 if kind == "LSTMCell" else 1
        if kind == "GRUCell" and not self.reset_after:  # r multiplies h before its matmul
            rz, rr, rh = _split(b, self.rk, 3)
            self.rk_zr = b.op("ConcatV2", [rz, rr, b.scalar(1, DT_INT32)], N=2, T=T,
                              Tidx=DT_INT32)
            self.rk_h = rh

    def _a(self, name: str, x: str) -> str:
        if name == "hard_sigmoid":  # tf.keras 2: clip(0.2 x + 0.5, 0, 1)
            y = _add(self.b, _mul(self.b, x, self.b.scalar(0.2)), self.b.scalar(0.5))
            y = self.b.op("Minimum", [y, self.b.scalar(1.0)], T=T)
            return self.b.op("Maximum", [y, self.b.scalar(0.0)], T=T)
        return activate(self.b, name, x, self.owner)

    def project_sequence(self, x: str, steps: int) -> list[str]:
        """``x @ kernel + bias`` for the whole ``(batch, steps, features)`` input, by step."""
        y = self.b.op("BatchMatMulV2", [x, self.kernel], T=T)
        if self.bias is not None:
            y = self.b.op("BiasAdd", [y, self.bias], T=T)
        return _unpack(self.b, y, steps, 1)

    def project_step(self, x: str) -> str:
        y = self.b.op("MatMul", [x, self.kernel], T=T)
        return y if self.bias is None else self.b.op("BiasAdd", [y, self.bias], T=T)

    def step(self, xp: str, states: list[str] | None) -> tuple[str, list[str]]:
        """One step from the projected input; ``states`` None stands for the zero states."""
        return getattr(self, "_" + self.kind)(xp, states)

    def _recurrent(self, h: str | None, kernel: str) -> str | None:
        return None if h is None else self.b.op("MatMul", [h, kernel], T=T)

    def _SimpleRNNCell(self, xp: str, states: list[str] | None) -> tuple[str, list[str]]:
        inner = self._recurrent(states and states[0], self.rk)
        out = self._a(self.act, xp if inner is None else _add(self.b, xp, inner))
        return out, [out]

    def _LSTMCell(self, xp: str, states: list[str] | None) -> tuple[str, list[str]]:
        b = self.b
        inner = self._recurrent(states and states[0], self.rk)
        i, f, g, o = _split(b, xp if inner is None else _add(b, xp, inner), 4)
        c = _mul(b, self._a(self.rec_act, i), self._a(self.act, g))
        if states:  # f * c + i * g; with the zero state only i * g remains
            c = _add(b, _mul(b, self._a(self.rec_act, f), states[1]), c)
        h = _mul(b, self._a(self.rec_act, o), self._a(self.act, c))
        return h, [h, c]

    def _GRUCell(self, xp: str, states: list[str] | None) -> tuple[str, list[str]]:
        b, h = self.b, states[0] if states else None
        xz, xr, xh = _split(b, xp, 3)
        if self.reset_after:
            inner = self._recurrent(h, self.rk)
            if self.rec_bias is not None:
                inner = self.rec_bias if inner is None else \
                    b.op("BiasAdd", [inner, self.rec_bias], T=T)
            if inner is None:  # zero state, no bias: r * (h @ rk) vanishes
                z, hh = self._a(self.rec_act, xz), self._a(self.act, xh)
            else:
                rz, rr, rh = _split(b, inner, 3)
                z, r = self._a(self.rec_act, _add(b, xz, rz)), self._a(self.rec_act,
                                                                        _add(b, xr, rr))
                hh = self._a(self.act, _add(b, xh, _mul(b, r, rh)))
        elif h is None:
            z, hh = self._a(self.rec_act, xz), self._a(self.act, xh)
        else:
            iz, ir = _split(b, self._recurrent(h, self.rk_zr), 2)
            z, r = self._a(self.rec_act, _add(b, xz, iz)), self._a(self.rec_act, _add(b, xr, ir))
            hh = self._a(self.act, _add(b, xh, b.op("MatMul", [_mul(b, r, h), self.rk_h], T=T)))
        keep = _mul(b, b.op("Sub", [b.scalar(1.0), z], T=T), hh)
        out = keep if h is None else _add(b, _mul(b, z, h), keep)
        return out, [out]


def _check_layer(layer: Any) -> None:
    if getattr(layer, "stateful", False):
        raise _refuse(layer, "stateful=False (a serving signature carries no state between "
                             "calls)")
    if getattr(layer, "time_major", False):
        raise _refuse(layer, "time_major=False")
    if getattr(layer, "_num_constants", 0):
        raise _refuse(layer, "no constants= (received "
                             f"{layer._num_constants} constant input(s))")


def _blend(b: FunctionBuilder, m: str, inv: str, new: str, old: str | None) -> str:
    """``m * new + (1 - m) * old`` (``old`` None: zeros): the masked step keeps ``old``."""
    kept = _mul(b, new, m)
    return kept if old is None else _add(b, kept, _mul(b, old, inv))


def run_rnn(b: FunctionBuilder, layer: Any, x: str, shape: tuple,
            initial: list[str] | None = None, mask: str | None = None
            ) -> tuple[list[str], list[str]]:
    """Unroll ``layer`` (an RNN) over ``x``: its per-step outputs in processing order (reversed
    with ``go_backwards``, as tf.keras returns them) and its flat final states. ``mask`` is a
    float ``(batch, steps, 1)`` edge of ones and zeros."""
    _check_layer(layer)
    steps = _steps(layer, shape)
    cell = layer.cell
    cells = [_Cell(b, c, layer) for c in getattr(cell, "cells", None) or [cell]] \
        if type(cell).__name__ == "StackedRNNCells" else [_Cell(b, cell, layer)]
    projected = cells[0].project_sequence(x, steps)
    masks = _unpack(b, mask, steps, 1) if mask is not None else None
    order = list(range(steps))[::-1] if layer.go_backwards else list(range(steps))
    states: list = [None] * len(cells)
    if initial:
        states, start = [], 0
        for c in cells:
            states.append(list(initial[start:start + c.states]))
            start += c.states
    outputs: list[str] = []
    previous: str | None = None
    for t in order:
        step_in, new_states = projected[t], []
        for k, c in enumerate(cells):
            out, new = c.step(step_in if k == 0 else c.project_step(step_in), states[k])
            new_states.append(new)
            step_in = out
        if masks is not None:
            m = masks[t]
            inv = b.op("Sub", [b.scalar(1.0), m], T=T)
            new_states = [[_blend(b, m, inv, n, o) for n, o in zip(news, olds or [None] * 2)]
                          for news, olds in zip(new_states, states)]
            out = _blend(b, m, inv, out, None if layer.zero_output_for_mask else previous)
        states, previous = new_states, out
        outputs.append(out)
    return outputs, [s for group in states for s in group]


def _input_mask(b: FunctionBuilder, layer: Any, xs: list[str]) -> str | None:
    """The float ``(batch, steps, 1)`` mask of the layer's input (the Masking layer's, traced
    by ``misc.trace_masks``), or None; a mask that cannot be lowered is refused there."""
    node = getattr(b, "node", None)
    if node is None:
        return None
    mask = mask_of(b, node.input_tensors[0], layer)
    if mask is None:
        return None
    return b.op("ExpandDims", [mask, b.scalar(-1, DT_INT32)], T=T, Tdim=DT_INT32)


def _initial_states(b: FunctionBuilder, layer: Any, xs: list[str]) -> list[str]:
    """The ``initial_state`` edges: the node's inputs after the sequence (``mask=`` given as a
    tensor would be one of them too, so it is refused rather than taken for a state)."""
    node = getattr(b, "node", None)
    if node is not None and node.kwargs.get("mask") is not None:
        raise _refuse(layer, "its mask from a Masking layer (received an explicit mask= "
                             "tensor)")
    return list(xs[1:])


@lowers("SimpleRNN", "LSTM", "GRU", "RNN")
def _rnn(b, layer, xs, shapes, outs):
    outputs, states = run_rnn(b, layer, xs[0], shapes[0], _initial_states(b, layer, xs) or None,
                              _input_mask(b, layer, xs))
    y = _pack(b, outputs) if layer.return_sequences else outputs[-1]
    return [y] + states if layer.return_state else [y]


def _merge(b: FunctionBuilder, mode: str | None, y: str, y_rev: str) -> list[str]:
    if mode == "concat":
        return [b.op("ConcatV2", [y, y_rev, b.scalar(-1, DT_INT32)], N=2, T=T, Tidx=DT_INT32)]
    if mode == "sum":
        return [_add(b, y, y_rev)]
    if mode == "ave":  # (y + y_rev) / 2: halving is exact either way
        return [_mul(b, _add(b, y, y_rev), b.scalar(0.5))]
    if mode == "mul":
        return [_mul(b, y, y_rev)]
    return [y, y_rev]


@lowers("Bidirectional")
def _bidirectional(b, layer, xs, shapes, outs):
    _steps(layer, shapes[0])  # refused under the wrapper's own name
    mask = _input_mask(b, layer, xs)
    initial = _initial_states(b, layer, xs)
    half = len(initial) // 2
    fwd, fwd_states = run_rnn(b, layer.forward_layer, xs[0], shapes[0], initial[:half] or None,
                              mask)
    bwd, bwd_states = run_rnn(b, layer.backward_layer, xs[0], shapes[0],
                              initial[half:] or None, mask)
    if layer.return_sequences:  # the backward outputs back in time order
        y, y_rev = _pack(b, fwd), _pack(b, bwd[::-1])
    else:
        y, y_rev = fwd[-1], bwd[-1]
    merged = _merge(b, layer.merge_mode, y, y_rev)
    return merged + fwd_states + bwd_states if layer.return_state else merged


@lowers("TimeDistributed")
def _time_distributed(b, layer, xs, shapes, outs):
    """The inner layer's lowering on ``(batch * steps, ...)``, reshaped back (as savepoint and
    tf.keras fold the time axis into the batch)."""
    inner = layer.layer
    lowering = LOWERINGS.get(type(inner).__name__)
    if lowering is None or hasattr(inner, "_graph") or hasattr(inner, "_stack"):
        raise _refuse(layer, f"a wrapped built-in layer with a TensorFlow lowering; received "
                             f"{inner.name!r} ({type(inner).__name__})")
    steps = _steps(layer, shapes[0])
    node = getattr(b, "node", None)
    masked = node is not None and mask_of(b, node.input_tensors[0], layer) is not None
    if (masked and inner._call_has_mask) or type(inner).__name__ == "Masking" or \
            getattr(inner, "mask_zero", False):
        # the inner lowering would read or make the mask of the whole (batch, time) input
        raise _refuse(layer, f"a wrapped layer that neither takes nor makes a Keras mask; "
                             f"received {inner.name!r} ({type(inner).__name__})"
                             f"{' on a masked input' if masked else ''}")
    in_shape, out_shape = (None,) + tuple(shapes[0][2:]), (None,) + tuple(outs[0][2:])
    if any(d is None for d in in_shape[1:] + out_shape[1:]):
        raise _refuse(layer, f"static dimensions after the time axis; received input "
                             f"{tuple(shapes[0])}, output {tuple(outs[0])}")
    dtype = tf_enum_for(b.node_dtypes[0]) if b.node_dtypes else T  # ids for an Embedding
    flat = b.op("Reshape", [xs[0], b.ints([-1, *in_shape[1:]])], T=dtype, Tshape=DT_INT32)
    ys = lowering(b, inner, [flat], [in_shape], [out_shape])
    if len(ys) != 1:
        raise _refuse(layer, f"a wrapped layer with one output; received {len(ys)}")
    return [b.op("Reshape", [ys[0], b.ints([-1, steps, *out_shape[1:]])], T=T,
                 Tshape=DT_INT32)]


__all__ = ["RECURRENT", "run_rnn"]
