"""``GRU``: Keras's gated recurrent unit layer (``reset_after`` True runs torch's fused GRU).

Example:
    >>> import torch
    >>> GRU(4)(torch.ones(2, 5, 3)).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

from savepoint.layers.recurrent.cell_layer import CellLayer
from savepoint.layers.recurrent.cells import GRUCell
from savepoint.serialization import builtin


@builtin("layers")
class GRU(CellLayer):
    """``GRU(units, reset_after=True, ...)`` as tf.keras 2; weights on ``cell`` (``gru_cell``):
    ``kernel`` ``(in, 3u)``, ``recurrent_kernel`` ``(u, 3u)``, ``bias`` ``(2, 3u)`` (``(3u,)``
    with ``reset_after=False``, which runs the step loop).

    Example:
        >>> import torch
        >>> layer = GRU(2, reset_after=False); _ = layer(torch.ones(1, 3, 2))
        >>> tuple(layer.cell.bias.shape)
        (6,)
    """

    cell_class = GRUCell


__all__ = ["GRU"]
