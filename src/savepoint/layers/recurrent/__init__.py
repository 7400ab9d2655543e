"""Recurrent layers: SimpleRNN, LSTM, GRU, RNN(cell), the cells, Bidirectional, TimeDistributed.

Masks: a layer that produces one (``Embedding(mask_zero=True)``, ``Masking``) leaves it on its
output tensor as ``_keras_mask``; ``Layer.__call__`` hands it to the next layer's ``mask=``
argument and records that layer's ``compute_mask`` on its output (see ``layers/base.py``).

Example:
    >>> import torch
    >>> LSTM(3)(torch.ones(2, 4, 5)).shape
    torch.Size([2, 3])
"""

from savepoint.layers.recurrent.bidirectional import Bidirectional
from savepoint.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
from savepoint.layers.recurrent.gru import GRU
from savepoint.layers.recurrent.lstm import LSTM
from savepoint.layers.recurrent.masking import Masking
from savepoint.layers.recurrent.rnn import RNN
from savepoint.layers.recurrent.simple_rnn import SimpleRNN
from savepoint.layers.recurrent.stacked_cells import StackedRNNCells
from savepoint.layers.recurrent.time_distributed import TimeDistributed

__all__ = ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "Masking", "RNN", "SimpleRNN",
           "SimpleRNNCell", "StackedRNNCells", "TimeDistributed"]
