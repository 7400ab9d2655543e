"""``SimpleRNN``: Keras's fully-connected RNN (tanh/relu run torch's fused RNN kernel).

Example:
    >>> import torch
    >>> SimpleRNN(4)(torch.ones(2, 5, 3)).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

from savepoint.layers.recurrent.cell_layer import CellLayer
from savepoint.layers.recurrent.cells import SimpleRNNCell
from savepoint.serialization import builtin


@builtin("layers")
class SimpleRNN(CellLayer):
    """``SimpleRNN(units, activation="tanh", ...)``; weights on ``cell`` (``simple_rnn_cell``).

    Example:
        >>> import torch
        >>> SimpleRNN(3, go_backwards=True, return_sequences=True)(torch.ones(1, 2, 2)).shape
        torch.Size([1, 2, 3])
    """

    cell_class = SimpleRNNCell


__all__ = ["SimpleRNN"]
