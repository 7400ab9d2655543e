"""``Embedding``: integer ids -> rows of a learned ``(input_dim, output_dim)`` table."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, DTypeError
from savepoint.layers import initializers
from savepoint.layers.base import Layer
from savepoint.layers.weight_args import add_role_weight, set_weight_args, weight_args_config
from savepoint.serialization import builtin

_LEGACY_CONFIG_KEYS = ("sparse",)


def _positive_int(value: Any, arg: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"Embedding expected `{arg}` to be a positive int. Received: "
                          f"{arg}={value!r}.")
    return value


@builtin("layers", "embedding")
class Embedding(Layer):
    """Look up row ``i`` of ``embeddings`` for each id ``i``; output adds a last axis.

    Inputs keep their integer dtype (floats are truncated to ints, as tf.keras casts them).

    Example:
        >>> Embedding(10, 4)(torch.tensor([[1, 2, 3]])).shape
        torch.Size([1, 3, 4])
    """

    _autocast_inputs = False

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, input_length: int | None = None, **kwargs: Any):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # tf.keras 2 always declares one: Sequential([Embedding(...), ...]) is built (and
            # has a summary) before it sees data
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        if embeddings_initializer == "uniform":
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        set_weight_args(self, "embeddings", embeddings_initializer, embeddings_regularizer,
                        embeddings_constraint)
        self.mask_zero, self.input_length = bool(mask_zero), input_length

    def build(self, input_shape: Any) -> None:
        self.embeddings = add_role_weight(self, "embeddings", (self.input_dim, self.output_dim))
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        ids = self._as_ids(inputs)
        if ids.device.type == "cpu" and ids.numel() and not torch.compiler.is_compiling():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.input_dim:
                bad = low if low < 0 else high
                raise ConfigError(
                    f"Layer \"{self.name}\" received id {bad}, outside the vocabulary range "
                    f"[0, {self.input_dim}). Expected ids in [0, input_dim). Increase input_dim "
                    f"or map the ids into range.")
        return F.embedding(ids, self.embeddings)

    def _as_ids(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dtype in (torch.int64, torch.int32):
            return inputs
        if inputs.dtype == torch.bool or inputs.is_complex():
            raise DTypeError(f"Layer \"{self.name}\" expected integer ids. Received a tensor of "
                             f"dtype {inputs.dtype}. Convert the ids to int64.")
        return inputs.long()

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        """``inputs != 0`` when ``mask_zero`` (Keras's padding mask), else ``None``."""
        if not self.mask_zero:
            return None
        return torch.as_tensor(inputs) != 0

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape) + (self.output_dim,)

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        out = super()._infer_outputs(args, kwargs)
        out.dtype = self.dtype  # the ids may be ints; the looked-up rows are floats
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                **weight_args_config(self, ("embeddings",), activity_regularizer=True),
                "mask_zero": self.mask_zero, "input_length": self.input_length}

    @classmethod
    def from_config(cls, config: dict) -> "Embedding":
        return cls(**{k: v for k, v in config.items() if k not in _LEGACY_CONFIG_KEYS})


__all__ = ["Embedding"]
