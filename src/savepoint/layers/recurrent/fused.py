"""torch's fused RNN kernels (``torch._VF.lstm/gru/rnn_tanh/rnn_relu``) driven by Keras weights.

Weights stay in Keras layout on the cells; here they are rearranged for torch at each call
(a few small copies, differentiable, far cheaper than the recurrence): LSTM's gate order ``i, f,
c, o`` is torch's ``i, f, g, o`` (only transposed); GRU's ``z, r, h`` becomes torch's ``r, z, n``
and its ``(2, 3u)`` bias the input and recurrent biases (Keras ``reset_after=True`` is torch's
GRU). A right-padded mask runs as a packed sequence; Keras's outputs at padded steps (the last
valid output, or zeros with ``zero_output_for_mask``) are gathered afterwards.

Example:
    >>> import torch
    >>> from savepoint.layers.recurrent.cells import LSTMCell
    >>> cell = LSTMCell(3); cell.build((None, 2))
    >>> out, states = run(cell, torch.ones(4, 5, 2), cell.get_initial_state(4), None, False)
    >>> tuple(out.shape), len(states)
    ((4, 5, 3), 2)
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from savepoint.layers import activations


def can_fuse(cell: Any) -> bool:
    """True when torch's kernel computes exactly this cell (default activations, GRU
    ``reset_after``); masks and dropout are checked by the caller.

    Example:
        >>> from savepoint.layers.recurrent.cells import GRUCell
        >>> can_fuse(GRUCell(2)), can_fuse(GRUCell(2, reset_after=False))
        (True, False)
    """
    from savepoint.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
    kind = type(cell)
    act = activations.serialize(cell.activation) if kind in (GRUCell, LSTMCell,
                                                             SimpleRNNCell) else None
    if kind is SimpleRNNCell:
        return act in ("tanh", "relu")
    if kind in (LSTMCell, GRUCell):
        ok = act == "tanh" and activations.serialize(cell.recurrent_activation) == "sigmoid"
        return ok and (kind is LSTMCell or cell.reset_after)
    return False


def _params(cell: Any) -> list[torch.Tensor]:
    from savepoint.layers.recurrent.cells import GRUCell
    k, rk, b = cell.kernel, cell.recurrent_kernel, cell.bias
    if isinstance(cell, GRUCell):
        u = cell.units
        order = lambda w: torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)
        params = [order(k).t(), order(rk).t()]
        if b is not None:
            b = order(b)
            params += [b[0], b[1]]
        return params
    params = [k.t(), rk.t()]
    if b is not None:
        params += [b, torch.zeros_like(b)]
    return params


def right_padded_lengths(mask: torch.Tensor) -> torch.Tensor | None:
    """Per-sequence lengths if ``mask`` ``(B, T)`` is right-padded with every length > 0 (one
    host sync: packing needs the lengths on the host anyway), else ``None``.

    Example:
        >>> right_padded_lengths(torch.tensor([[1, 1, 0], [1, 0, 0]])).tolist()
        [2, 1]
        >>> right_padded_lengths(torch.tensor([[0, 1, 1]])) is None
        True
    """
    mask = mask.bool()
    lengths = mask.sum(1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    if bool(((steps[None] < lengths[:, None]) == mask).all() & (lengths > 0).all()):
        return lengths
    return None


def run(cell: Any, x: torch.Tensor, states: list, lengths: torch.Tensor | None,
        zero_output_for_mask: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Outputs ``(B, T, units)`` and final states of ``cell`` over batch-first ``x``."""
    from savepoint.layers.recurrent.cells import GRUCell, LSTMCell
    params = _params(cell)
    has_bias = cell.bias is not None
    hx = [s.unsqueeze(0).contiguous() for s in states]
    kind = type(cell)
    if lengths is None:
        if kind is LSTMCell:
            out, h, c = torch._VF.lstm(x, hx, params, has_bias, 1, 0.0, False, False, True)
            return out, [h[0], c[0]]
        fn = torch._VF.gru if kind is GRUCell else _simple_fn(cell)
        out, h = fn(x, hx[0], params, has_bias, 1, 0.0, False, False, True)
        return out, [h[0]]
    lengths = lengths.cpu()
    if bool((lengths == x.shape[1]).all()):  # nothing padded: the plain kernel, same numbers
        return run(cell, x, states, None, zero_output_for_mask)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    data, sizes, order, unorder = packed.data, packed.batch_sizes, packed.sorted_indices, \
        packed.unsorted_indices
    hx = [h.index_select(1, order) for h in hx]
    if kind is LSTMCell:
        out, h, c = torch._VF.lstm(data, sizes, hx, params, has_bias, 1, 0.0, False, False)
        new = [h[0].index_select(0, unorder), c[0].index_select(0, unorder)]
    else:
        fn = torch._VF.gru if kind is GRUCell else _simple_fn(cell)
        out, h = fn(data, sizes, hx[0], params, has_bias, 1, 0.0, False, False)
        new = [h[0].index_select(0, unorder)]
    seq = torch.nn.utils.rnn.pad_packed_sequence(
        torch.nn.utils.rnn.PackedSequence(out, sizes, order, unorder), batch_first=True,
        total_length=x.shape[1])[0]
    return _keras_padded_outputs(seq, lengths, zero_output_for_mask), new


def run_reversed(cell: Any, x: torch.Tensor, states: list, lengths: torch.Tensor | None,
                 zero_output_for_mask: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Keras's ``go_backwards`` over batch-first ``x`` (time order, right-padded to
    ``lengths``): Keras flips the whole sequence, so the padding comes first, keeps the initial
    state and outputs zeros there, then runs the valid steps last to first. Here each sequence
    is reversed within its length, run packed, and its outputs shifted behind the padding.

    Example:
        >>> from savepoint.layers.recurrent.cells import SimpleRNNCell
        >>> cell = SimpleRNNCell(2); cell.build((None, 1))
        >>> seq, _ = run_reversed(cell, torch.ones(1, 3, 1), cell.get_initial_state(1),
        ...                       torch.tensor([2]), False)
        >>> seq[0, 0].tolist()   # Keras: the padding comes first and outputs zeros
        [0.0, 0.0]
    """
    if lengths is None or bool((lengths.cpu() == x.shape[1]).all()):
        return run(cell, x.flip(1), states, None, zero_output_for_mask)
    steps = x.shape[1]
    lengths = lengths.to(x.device)
    k = torch.arange(steps, device=x.device)[None]
    within = (lengths[:, None] - 1 - k).clamp(min=0)
    x_rev = x.gather(1, within[..., None].expand(-1, -1, x.shape[2]))
    out, new = run(cell, x_rev, states, lengths, True)
    shifted = k - (steps - lengths[:, None])
    seq = out.gather(1, shifted.clamp(min=0)[..., None].expand(-1, -1, out.shape[2]))
    return torch.where((shifted >= 0)[..., None], seq, torch.zeros((), dtype=seq.dtype,
                                                                  device=seq.device)), new


def _simple_fn(cell: Any):
    relu = activations.serialize(cell.activation) == "relu"
    return torch._VF.rnn_relu if relu else torch._VF.rnn_tanh


def _keras_padded_outputs(seq: torch.Tensor, lengths: torch.Tensor,
                          zero_output_for_mask: bool) -> torch.Tensor:
    """Keras repeats the last valid output at padded steps (zeros with zero_output_for_mask;
    torch's packed output already has zeros there)."""
    if zero_output_for_mask:
        return seq
    steps = torch.arange(seq.shape[1], device=seq.device)
    index = torch.minimum(steps[None], (lengths.to(seq.device) - 1)[:, None])
    return seq.gather(1, index[..., None].expand(-1, -1, seq.shape[2]))


__all__ = ["can_fuse", "right_padded_lengths", "run", "run_reversed"]
