"""``Normalization``: ``(x - mean) / sqrt(variance)`` per feature, statistics given or adapted."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin

_EPSILON = 1e-7  # tf.keras's backend.epsilon(): the smallest standard deviation divided by


def _axis_tuple(axis: Any) -> tuple[int, ...]:
    if axis is None:
        return ()
    if isinstance(axis, int) and not isinstance(axis, bool):
        return (axis,)
    if isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return tuple(axis)
    raise ConfigError(f"Normalization expected `axis` to be None, an int or a tuple of ints. "
                      f"Received: axis={axis!r}.")


def adapt_batches(data: Any, batch_size: int | None = None,
                  steps: int | None = None) -> Iterable[np.ndarray]:
    """The batches ``adapt`` reads: a numpy array/tensor/list is one batch (or slices of
    ``batch_size``); any other iterable (a Dataset-like object, a generator, a DataLoader)
    yields batches, of which ``(x, y)`` pairs contribute ``x``.

    Example:
        >>> [b.shape for b in adapt_batches(np.zeros((5, 2)), batch_size=2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    def as_array(batch: Any) -> np.ndarray:
        if isinstance(batch, (tuple, list)) and batch and not np.isscalar(batch[0]) and \
                isinstance(batch[0], (np.ndarray, torch.Tensor)):
            batch = batch[0]
        if isinstance(batch, torch.Tensor):
            return batch.detach().cpu().numpy()
        return np.asarray(batch)
    if isinstance(data, (np.ndarray, torch.Tensor, list)):
        array = as_array(data)
        size = batch_size or max(len(array), 1) if array.ndim else 1
        for count, start in enumerate(range(0, max(len(array), 1) if array.ndim else 1, size)):
            if steps is not None and count >= steps:
                return
            yield array[start:start + size] if array.ndim else array
        return
    if not hasattr(data, "__iter__"):
        raise ConfigError(f"adapt expected a numpy array, a tensor, a list or an iterable of "
                          f"batches. Received: {type(data).__name__}.")
    for count, batch in enumerate(data):
        if steps is not None and count >= steps:
            return
        yield as_array(batch)


@builtin("layers")
class Normalization(Layer):
    """Shift and scale inputs to mean 0 and variance 1 over the features along ``axis``.

    Statistics come from ``mean``/``variance`` or from ``adapt(data)``; adapted ones are the
    non-trainable weights ``mean``, ``variance`` and ``count`` (int64), as tf.keras stores them.

    Example:
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[0.0], [2.0]], "float32"))
        >>> layer(np.array([[2.0]], "float32")).tolist()
        [[1.0]]
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = _axis_tuple(axis)
        if (mean is None) != (variance is None):
            raise ConfigError(f"Normalization expected both `mean` and `variance` or neither. "
                              f"Received: mean={mean!r}, variance={variance!r}. Fix: pass both, "
                              f"or neither and call adapt().")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._given = None if mean is None else (np.asarray(mean, np.float64),
                                                 np.asarray(variance, np.float64))

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        keep = tuple(sorted({a + rank if a < 0 else a for a in self.axis}))
        if any(a < 0 or a >= rank for a in keep):
            raise ShapeError(f"Layer '{self.name}': axis {self.axis} is out of range for an input "
                             f"of rank {rank} (shape {tuple(input_shape)}).")
        if any(input_shape[a] is None for a in keep):
            raise ShapeError(f"Layer '{self.name}' expected the dimensions along axis "
                             f"{self.axis} to be known. Received input_shape="
                             f"{tuple(input_shape)}.")
        self._keep, self._rank = keep, rank
        shape = tuple(int(input_shape[a]) for a in keep)
        self._broadcast = [int(input_shape[a]) if a in keep else 1 for a in range(rank)]
        if self._given is None:
            self.mean = self.add_weight("mean", shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False, dtype="int64")
        else:
            mean, var = (np.broadcast_to(v, shape).astype(np.float32) for v in self._given)
            self._mean_t, self._var_t = torch.from_numpy(mean.copy()), torch.from_numpy(var.copy())
        self.built = True

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Compute ``mean``/``variance``/``count`` over ``data`` (all batches), replacing earlier
        statistics; builds the layer from the data's shape when needed."""
        if self._given is not None:
            raise ConfigError(f"Layer '{self.name}' was given `mean` and `variance`, so it "
                              f"cannot adapt. Fix: construct it without them to adapt.")
        total, mean, m2 = 0, None, None
        for batch in adapt_batches(data, batch_size, steps):
            batch = np.asarray(batch, np.float64)
            if not self.built:
                self.build((None,) + batch.shape[1:])
            if batch.ndim != self._rank:
                raise ShapeError(f"Layer '{self.name}' expected adapt batches of rank "
                                 f"{self._rank}. Received shape {batch.shape}.")
            reduce = tuple(a for a in range(batch.ndim) if a not in self._keep)
            n = int(np.prod([batch.shape[a] for a in reduce])) if reduce else 1
            if n == 0:
                continue
            b_mean = batch.mean(axis=reduce) if reduce else batch
            b_m2 = ((batch - batch.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce) \
                if reduce else np.zeros_like(batch)
            if mean is None:
                total, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.'s parallel combination of means and squared deviations
                delta = b_mean - mean
                new_total = total + n
                mean = mean + delta * n / new_total
                m2 = m2 + b_m2 + delta ** 2 * total * n / new_total
                total = new_total
        if mean is None:
            raise ConfigError(f"Layer '{self.name}' received no data to adapt on. Fix: pass a "
                              f"non-empty array or dataset.")
        self.set_weights([np.asarray(mean, np.float32).reshape(self.mean.shape),
                          np.asarray(m2 / total, np.float32).reshape(self.variance.shape),
                          np.asarray(total, np.int64)])

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._given is None:
            mean, var = self.mean, self.variance
        else:
            mean, var = self._mean_t, self._var_t
        mean = mean.to(device=like.device, dtype=like.dtype).reshape(self._broadcast)
        var = var.to(device=like.device, dtype=like.dtype).reshape(self._broadcast)
        return mean, torch.clamp(torch.sqrt(var), min=_EPSILON)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != self._rank:
            raise ShapeError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={self._rank}, found ndim={inputs.dim()}. Full shape "
                             f"received: {tuple(inputs.shape)}.")
        mean, std = self._stats(inputs)
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        def plain(v: Any) -> Any:
            return np.asarray(v).tolist() if v is not None and not isinstance(v, (int, float)) \
                else v
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
