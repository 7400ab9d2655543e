"""``Discretization``: bucket numbers by ``bin_boundaries`` into ids (or their encodings)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import check_choice
from savepoint.layers.preprocessing.category_encoding import encode
from savepoint.layers.preprocessing.normalization import adapt_batches
from savepoint.serialization import builtin

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """tf.keras's quantile summary of one batch: every ``len/(1/epsilon)``-th sorted value,
    each weighted by that step (float32, as TF computes it).

    Example:
        >>> summarize(np.array([3.0, 1.0, 2.0]), 0.5).tolist()
        [[2.0, 3.0], [1.0, 1.0]]
    """
    values = np.sort(np.asarray(values, np.float32).reshape(-1))
    increment = int(np.float32(values.size) / np.float32(1.0 / epsilon))
    step = max(increment, 1)
    bounds = values[increment::step]
    return np.stack([bounds, np.full(bounds.shape, step, np.float32)])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """tf.keras's ``_compress_summary_numpy``: resample the summary at ``epsilon`` steps."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    cum_percents = cum / cum[-1]
    bins = np.interp(percents, cum_percents, summary[0])
    cum = np.interp(percents, cum_percents, cum)
    weights = cum - np.concatenate((np.array([0]), cum[:-1]))
    return np.stack((bins, weights)).astype(np.float32)


def quantile_boundaries(batches: Any, num_bins: int, epsilon: float) -> list[float]:
    """Bin boundaries from batches as tf.keras's ``Discretization.adapt`` computes them."""
    summary = np.zeros((2, 0), np.float32)
    for batch in batches:
        merged = np.concatenate((summarize(batch, epsilon), summary), axis=1)
        summary = compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)
    if not summary.shape[1]:
        raise ConfigError("Discretization received no data to adapt on. Fix: pass a "
                          "non-empty array or dataset.")
    return [float(b) for b in compress(summary, 1.0 / num_bins)[0, :-1]]


@builtin("layers")
class Discretization(Layer):
    """Map each value ``x`` to the number of boundaries ``b <= x`` (TF's ``Bucketize``).

    Example:
        >>> Discretization([0.0, 1.0])(np.array([[-1.0, 0.0, 0.5, 2.0]])).tolist()
        [[0, 1, 1, 2]]
    """

    _autocast_inputs = False  # values are compared as given; the output is int64

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False,
                 dtype: Any = None, **kwargs: Any):
        output_mode = check_choice("Discretization", "output_mode", output_mode, OUTPUT_MODES)
        if dtype is None:
            dtype = "int64" if output_mode == "int" else "float32"
        super().__init__(dtype=dtype, **kwargs)
        if bin_boundaries is not None and num_bins is not None and \
                len(bin_boundaries) != num_bins - 1:  # Keras 3 writes both after adapt
            raise ConfigError(f"Discretization expected `bin_boundaries` or `num_bins`, or "
                              f"num_bins - 1 boundaries. Received: bin_boundaries="
                              f"{bin_boundaries!r}, num_bins={num_bins!r}.")
        if bin_boundaries is None and num_bins is None:
            raise ConfigError("Discretization expected `bin_boundaries` or `num_bins` (then "
                              "call adapt()). Received neither.")
        if num_bins is not None and (not isinstance(num_bins, int) or num_bins < 1):
            raise ConfigError(f"Discretization expected `num_bins` to be a positive int. "
                              f"Received: num_bins={num_bins!r}.")
        self.epsilon, self.output_mode = float(epsilon), output_mode
        self.num_bins = num_bins
        check_choice("Discretization", "sparse", sparse, (False,))
        self._set_boundaries(bin_boundaries if bin_boundaries is not None else [])

    def _set_boundaries(self, bin_boundaries: Any) -> None:
        bounds = [float(b) for b in bin_boundaries]
        if any(b > a for a, b in zip(bounds[1:], bounds[:-1])):
            raise ConfigError(f"Discretization expected `bin_boundaries` in increasing order. "
                              f"Received: {bounds}.")
        self.bin_boundaries = bounds
        self._bounds = torch.tensor(bounds, dtype=torch.float64)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn ``num_bins - 1`` boundaries from ``data`` with tf.keras's approximate quantiles
        (arrays are read in batches of 32, as tf.keras does; the summary depends on them)."""
        if self.num_bins is None:
            raise ConfigError(f"Layer '{self.name}' was given `bin_boundaries`, so it cannot "
                              f"adapt. Fix: construct it with `num_bins` instead.")
        batches = adapt_batches(data, batch_size or 32, steps)
        self._set_boundaries(quantile_boundaries(batches, self.num_bins, self.epsilon))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.num_bins is not None and not self.bin_boundaries and self.num_bins > 1:
            raise ConfigError(f"Layer '{self.name}' has num_bins={self.num_bins} but no "
                              f"boundaries yet. Fix: call adapt(data) first.")
        bounds = self._bounds.to(inputs.device)
        values = inputs.to(torch.float64) if not inputs.is_floating_point() else inputs
        ids = torch.bucketize(values, bounds.to(values.dtype), right=True)
        if self.output_mode == "int":
            return ids.to(self._torch_dtype)
        return encode(ids, len(self.bin_boundaries) + 1, self.output_mode, self._torch_dtype,
                      what=f"Layer '{self.name}'")

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        out = super()._infer_outputs(args, kwargs)
        out.dtype = self.dtype  # the inputs may be ints or floats; the outputs are this dtype
        return out

    def get_config(self) -> dict:
        # adapted boundaries are written as given ones (num_bins None): tf.keras 2 refuses a
        # config with both, and keeps adapted ones in a weight of unknown shape instead
        learned = self.num_bins is not None and bool(self.bin_boundaries)
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries or None,
                "num_bins": None if learned else self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": False}
