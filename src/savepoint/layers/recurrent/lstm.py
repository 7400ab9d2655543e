"""``LSTM``: Keras's long short-term memory layer (an RNN of one LSTMCell, torch's fused kernel).

Example:
    >>> import torch
    >>> LSTM(8, return_sequences=True)(torch.ones(2, 5, 3)).shape
    torch.Size([2, 5, 8])
"""

from __future__ import annotations

from savepoint.layers.recurrent.cell_layer import CellLayer
from savepoint.layers.recurrent.cells import LSTMCell
from savepoint.serialization import builtin


@builtin("layers")
class LSTM(CellLayer):
    """``LSTM(units, activation="tanh", recurrent_activation="sigmoid", ...)`` as tf.keras 2.

    Weights live on ``cell`` (``lstm/lstm_cell/kernel`` ``(in, 4u)``, ``recurrent_kernel``
    ``(u, 4u)``, ``bias`` ``(4u,)``, gates ``i, f, c, o``).

    Example:
        >>> import torch
        >>> out, h, c = LSTM(2, return_state=True)(torch.ones(1, 4, 3))
        >>> tuple(h.shape)
        (1, 2)
    """

    cell_class = LSTMCell


__all__ = ["LSTM"]
