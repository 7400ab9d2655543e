"""``Discretization``: bucket numbers by ``bin_boundaries`` into ids (or their encodings)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import check_choice
from savepoint.layers.preprocessing.category_encoding import encode
from savepoint.saving.serialization import builtin

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


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
        if bin_boundaries is not None and num_bins is not None:
            raise ConfigError(f"Discretization expected `bin_boundaries` or `num_bins`, not "
                              f"both. Received: bin_boundaries={bin_boundaries!r}, num_bins="
                              f"{num_bins!r}.")
        if bin_boundaries is None:
            raise ConfigError(f"Discretization expected `bin_boundaries`. Received: "
                              f"bin_boundaries=None, num_bins={num_bins!r}. savepoint does not "
                              f"adapt Discretization yet (num_bins + adapt). Fix: pass the "
                              f"boundaries, for example numpy.quantile(data, [0.25, 0.5, "
                              f"0.75]).")
        bounds = [float(b) for b in bin_boundaries]
        if any(b > a for a, b in zip(bounds[1:], bounds[:-1])):
            raise ConfigError(f"Discretization expected `bin_boundaries` in increasing order. "
                              f"Received: {bounds}.")
        self.bin_boundaries, self.num_bins = bounds, None
        self.epsilon, self.output_mode = float(epsilon), output_mode
        check_choice("Discretization", "sparse", sparse, (False,))
        self._bounds = torch.tensor(bounds, dtype=torch.float64)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        bounds = self._bounds.to(inputs.device)
        values = inputs.to(torch.float64) if not inputs.is_floating_point() else inputs
        ids = torch.bucketize(values, bounds.to(values.dtype), right=True)
        if self.output_mode == "int":
            return ids.to(self._torch_dtype)
        return encode(ids, len(self.bin_boundaries) + 1, self.output_mode, self._torch_dtype,
                      what=f"Layer '{self.name}'")

    def get_config(self) -> dict:
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": False}
