"""``CategoryEncoding``: integer category ids -> one-hot, multi-hot or count vectors."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import check_choice, positive_int
from savepoint.serialization import builtin

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode(inputs: torch.Tensor, depth: int, output_mode: str, dtype: torch.dtype,
           count_weights: torch.Tensor | None = None, what: str = "CategoryEncoding"
           ) -> torch.Tensor:
    """tf.keras's ``encode_categorical_inputs`` for dense inputs: a rank-0 input gains an axis,
    ``one_hot`` adds a last axis unless it is already 1, and rows (rank 2) or the whole vector
    (rank 1) are bin-counted into ``depth`` slots.

    Example:
        >>> encode(torch.tensor([[0, 2], [1, 1]]), 3, "count", torch.float32).tolist()
        [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    """
    original = tuple(inputs.shape)
    ids = inputs.long() if inputs.is_floating_point() or inputs.dtype != torch.long else inputs
    if ids.dim() == 0:
        ids = ids.unsqueeze(-1)
    elif output_mode == "one_hot" and (ids.dim() == 1 or ids.shape[-1] != 1):
        # tf.keras decides on the static shape, where a batch axis is unknown (never 1)
        ids = ids.unsqueeze(-1)
    if ids.dim() > 2:
        raise ShapeError(f"{what}: when output_mode is not 'int', the maximum supported output "
                         f"rank is 2. Received output_mode={output_mode!r} and input shape "
                         f"{original}, which would give output rank {ids.dim()}. Fix: reshape "
                         f"the input to (batch, tokens).")
    if ids.device.type == "cpu" and ids.numel() and (  # on CPU the check costs no device sync
            int(ids.min()) < 0 or int(ids.max()) >= depth):
        raise ConfigError(f"{what} expected input values in the range 0 <= values < "
                          f"num_tokens with num_tokens={depth}. Received values from "
                          f"{int(ids.min())} to {int(ids.max())}.")
    rows = ids if ids.dim() == 2 else ids.unsqueeze(0)
    out = torch.zeros((rows.shape[0], depth), dtype=dtype, device=ids.device)
    if count_weights is not None:
        weights = count_weights.to(dtype).reshape(rows.shape)
    else:
        weights = torch.ones(rows.shape, dtype=dtype, device=ids.device)
    out.scatter_add_(1, rows, weights)
    if output_mode in ("one_hot", "multi_hot"):
        out = (out > 0).to(dtype)
    return out if ids.dim() == 2 else out[0]


@builtin("layers")
class CategoryEncoding(Layer):
    """Encode integer ids in ``[0, num_tokens)`` as ``one_hot``, ``multi_hot`` or ``count``.

    Example:
        >>> import numpy as np
        >>> CategoryEncoding(4, output_mode="one_hot")(np.array([3, 0])).tolist()
        [[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]
    """

    _autocast_inputs = False  # ids stay integers

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs: Any):
        if num_tokens is None and "max_tokens" in kwargs:  # tf.keras 2.5's name for it
            num_tokens = kwargs.pop("max_tokens")
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ConfigError("CategoryEncoding expected `num_tokens`. Received: "
                              "num_tokens=None. Fix: pass the number of categories.")
        self.num_tokens = positive_int("CategoryEncoding", "num_tokens", num_tokens)
        self.output_mode = check_choice("CategoryEncoding", "output_mode", output_mode,
                                        OUTPUT_MODES)
        check_choice("CategoryEncoding", "sparse", sparse, (False,))

    def call(self, inputs: torch.Tensor, count_weights: Any = None) -> torch.Tensor:
        if count_weights is not None and self.output_mode != "count":
            raise ConfigError(f"CategoryEncoding expected `count_weights` only with "
                              f"output_mode='count'. Received output_mode="
                              f"{self.output_mode!r}.")
        if count_weights is not None and not isinstance(count_weights, torch.Tensor):
            count_weights = torch.as_tensor(count_weights, device=inputs.device)
        return encode(inputs, self.num_tokens, self.output_mode, self._torch_dtype,
                      count_weights, f"Layer '{self.name}'")

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        out = super()._infer_outputs(args, kwargs)
        out.dtype = self.dtype  # the inputs may be ints or floats; the outputs are this dtype
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": False}
