"""Datasets the utilities return (re-iterable, with a length, accepted by ``fit``):
``ArrayDataset``, ``timeseries_dataset_from_array`` and ``split_dataset``."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numpy as np
import torch

from savepoint.errors import ConfigError


def _map(fn: Callable, structure: Any) -> Any:
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    if isinstance(structure, (tuple, list)):
        return tuple(_map(fn, v) for v in structure)
    return fn(structure)


def _first(structure: Any) -> np.ndarray:
    if isinstance(structure, dict):
        return _first(next(iter(structure.values())))
    if isinstance(structure, (tuple, list)):
        return _first(structure[0])
    return structure


class ArrayDataset(torch.utils.data.IterableDataset):
    """Samples held as arrays (one array, a tuple or a dict of them, same first dimension),
    yielded one at a time or, after ``batch(n)``, ``n`` at a time. Re-iterable, sized, and a
    valid ``fit`` input: a dataset of ``(x, y)`` batches trains like ``fit(x, y)``.

    Example:
        >>> ds = ArrayDataset((np.arange(5.0), np.arange(5))).batch(2)
        >>> len(ds), [y.tolist() for _, y in ds]
        (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, arrays: Any, batch_size: int | None = None):
        super().__init__()
        self.arrays = _map(np.asarray, arrays)
        self.batch_size = batch_size
        self.num_samples = int(_first(self.arrays).shape[0])

    def batch(self, batch_size: int) -> "ArrayDataset":
        """The same samples, ``batch_size`` at a time (the last batch may be smaller)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"Expected batch_size to be a positive int. Received: "
                              f"{batch_size!r}.")
        return ArrayDataset(self.arrays, batch_size)

    def unbatch(self) -> "ArrayDataset":
        """The same samples, one at a time."""
        return ArrayDataset(self.arrays, None)

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return math.ceil(self.num_samples / self.batch_size)

    cardinality = __len__

    def __iter__(self) -> Iterator[Any]:
        if self.batch_size is None:
            for i in range(self.num_samples):
                yield _map(lambda a: a[i], self.arrays)
            return
        for start in range(0, self.num_samples, self.batch_size):
            stop = start + self.batch_size
            yield _map(lambda a: a[start:stop], self.arrays)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """Iterate (the elements are numpy arrays already)."""
        return iter(self)


class BatchDataset(torch.utils.data.IterableDataset):
    """A sized, re-iterable dataset whose batches ``make_batch(i)`` builds on demand.

    Example:
        >>> ds = BatchDataset(lambda i: np.full(2, i), 3)
        >>> [b.tolist() for b in ds]
        [[0, 0], [1, 1], [2, 2]]
    """

    def __init__(self, make_batch: Callable[[int], Any], num_batches: int):
        super().__init__()
        self.make_batch, self.num_batches = make_batch, int(num_batches)

    def __len__(self) -> int:
        return self.num_batches

    cardinality = __len__

    def __iter__(self) -> Iterator[Any]:
        for i in range(self.num_batches):
            yield self.make_batch(i)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """Iterate (the elements are numpy arrays already)."""
        return iter(self)


def _positive(name: str, value: Any, length: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigError(f"`{name}` must be higher than 0. Received: {name}={value!r}")
    if name != "sequence_length" and value >= length:
        raise ConfigError(f"`{name}` must be lower than the length of the data. Received: "
                          f"{name}={value}, for data of length {length}")


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> BatchDataset:
    """Sliding windows over ``data`` (and the target at each window's start), batched, as
    ``tf.keras.utils.timeseries_dataset_from_array``.

    Window ``i`` is ``data[start + p_i : start + p_i + sequence_length * sampling_rate :
    sampling_rate]`` with ``p_i = i * sequence_stride`` and target ``targets[start + p_i]``.
    ``shuffle`` permutes the window starts with ``np.random.RandomState(seed)`` as Keras does;
    Keras then also shuffles through a tf.data buffer, which is not reproduced (the batches hold
    the same windows in another order).

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3,
        ...                                    batch_size=4)
        >>> next(iter(ds)).tolist()
        [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    """
    data = np.asarray(data)
    if start_index is not None and (start_index < 0 or start_index >= len(data)):
        raise ConfigError(f"`start_index` must be 0 or greater and smaller than `data`. "
                          f"Received: start_index={start_index} for data of length {len(data)}")
    if end_index is not None:
        if start_index is not None and end_index <= start_index:
            raise ConfigError(f"`end_index` must be higher than `start_index`. Received: "
                              f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ConfigError(f"`end_index` must be lower than the length of the data. "
                              f"Received: end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ConfigError(f"`end_index` must be higher than 0. Received: "
                              f"end_index={end_index}")
    _positive("sequence_length", sequence_length, len(data))
    _positive("sampling_rate", sampling_rate, len(data))
    _positive("sequence_stride", sequence_stride, len(data))
    start_index = 0 if start_index is None else int(start_index)
    end_index = len(data) if end_index is None else int(end_index)
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    target_array = None if targets is None else np.asarray(targets)
    if target_array is not None:
        num_seqs = min(num_seqs, len(target_array))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    window = np.arange(sequence_length, dtype=np.int64) * sampling_rate
    per_batch = len(starts) if batch_size is None else int(batch_size)

    def make_batch(i: int) -> Any:
        picked = starts[i * per_batch:(i + 1) * per_batch] if batch_size is not None \
            else starts[i:i + 1]
        x = data[start_index + picked[:, None] + window]  # one gather for the whole batch
        if batch_size is None:
            x = x[0]
        if target_array is None:
            return x
        y = target_array[start_index + picked]
        return x, (y if batch_size is not None else y[0])

    count = len(starts) if batch_size is None else math.ceil(len(starts) / per_batch)
    return BatchDataset(make_batch, count)


def split_dataset(dataset: Any, left_size: int | float | None = None,
                  right_size: int | float | None = None, shuffle: bool = False,
                  seed: int | None = None) -> tuple[ArrayDataset, ArrayDataset]:
    """Split arrays (or a tuple/dict of arrays, or an ``ArrayDataset``) into two datasets of
    samples, as ``tf.keras.utils.split_dataset``. Sizes are counts (int) or fractions (float);
    with neither given the split is half and half.

    Example:
        >>> left, right = split_dataset(np.arange(10), left_size=0.8)
        >>> len(left), len(right)
        (8, 2)
    """
    arrays = dataset.arrays if isinstance(dataset, ArrayDataset) else dataset
    if isinstance(arrays, list) and arrays and not isinstance(arrays[0], np.ndarray):
        arrays = np.asarray(arrays)
    arrays = _map(np.asarray, arrays)
    total = int(_first(arrays).shape[0])
    left, right = _split_sizes(left_size, right_size, total)
    order = np.arange(total)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(order)
    return (ArrayDataset(_map(lambda a: a[order[:left]], arrays)),
            ArrayDataset(_map(lambda a: a[order[left:left + right]], arrays)))


def _split_sizes(left: Any, right: Any, total: int) -> tuple[int, int]:
    for name, size in (("left_size", left), ("right_size", right)):
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0 or (
                isinstance(size, float) and size >= 1) or (isinstance(size, int) and size > total):
            raise ConfigError(f"Expected {name} to be an int in [1, {total}] or a float in "
                              f"(0, 1). Received: {name}={size!r}.")
    as_count = lambda s: round(s * total) if isinstance(s, float) else int(s)  # noqa: E731
    if left is None and right is None:
        left = 0.5
    if left is None:
        r = as_count(right)
        return total - r, r
    lc = as_count(left)
    rc = total - lc if right is None else as_count(right)
    if lc + rc > total or lc == 0 or rc == 0:
        raise ConfigError(f"The sum of left_size and right_size must give two non-empty "
                          f"splits of the {total} samples. Received: left_size={left}, "
                          f"right_size={right} ({lc} + {rc} samples).")
    return lc, rc


__all__ = ["ArrayDataset", "BatchDataset", "timeseries_dataset_from_array", "split_dataset"]
