"""``Sequence``: Keras's indexable batch source, and the epoch iterator ``fit`` draws from it."""

from __future__ import annotations

from typing import Any, Iterator

import torch


class Sequence:
    """Base class for batch sources indexed by batch number, as ``tf.keras.utils.Sequence``.

    Implement ``__getitem__(index)`` (returns one batch: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``) and ``__len__`` (batches per epoch); ``on_epoch_end`` runs after
    every epoch. ``fit`` accepts a Sequence directly; with ``shuffle=True`` the batch order is
    shuffled each epoch (from torch's RNG, so a seeded run repeats).

    Example:
        >>> import numpy as np
        >>> class Batches(Sequence):
        ...     def __len__(self): return 2
        ...     def __getitem__(self, i): return np.full((4, 3), i, "float32"), np.zeros(4)
        >>> [float(x[0, 0]) for x, _ in Batches()]
        [0.0, 1.0]
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        # Keras 3's PyDataset arguments; batches are produced in the training thread.
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index).")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__().")

    def on_epoch_end(self) -> None:
        """Called after each epoch (override to reshuffle your samples)."""

    def __iter__(self) -> Iterator[Any]:
        """One pass over the batches, in index order."""
        for i in range(len(self)):
            yield self[i]


class SequenceEpochs:
    """What ``fit`` iterates for a ``Sequence``: one ``iter()`` per epoch, each yielding every
    batch (shuffled when ``shuffle``) and then calling ``on_epoch_end``.

    Example:
        >>> import numpy as np
        >>> class S(Sequence):
        ...     def __len__(self): return 3
        ...     def __getitem__(self, i): return np.array([i])
        >>> [int(b[0]) for b in SequenceEpochs(S(), shuffle=False)]
        [0, 1, 2]
    """

    def __init__(self, sequence: Sequence, shuffle: bool = False):
        self.sequence, self.shuffle = sequence, bool(shuffle)

    def __len__(self) -> int:
        return len(self.sequence)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.sequence)
        order = torch.randperm(n).tolist() if self.shuffle else range(n)
        for i in order:
            yield self.sequence[i]
        self.sequence.on_epoch_end()


__all__ = ["Sequence", "SequenceEpochs"]
