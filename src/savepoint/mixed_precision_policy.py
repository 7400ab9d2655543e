"""Dtype policies of single layers (``Dense(4, dtype="mixed_float16")``): the ``Policy`` class,
how a layer's ``dtype`` argument resolves to one, its tf.keras 2 config, and a call that
computes in the policy's half-precision dtype while the weights stay float32.

Kept free of optimizer and saving imports so that ``layers.base`` can use it;
``savepoint.mixed_precision`` re-exports ``Policy``.

Example:
    >>> resolve_dtype("mixed_bfloat16")
    ('float32', <Policy "mixed_bfloat16">)
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError

POLICIES = ("float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16")


class Policy:
    """A dtype policy: ``compute_dtype`` (what layers compute in) and ``variable_dtype`` (what
    weights are stored in); ``mixed_*`` policies compute in half precision with float32 weights.

    Example:
        >>> Policy("mixed_float16").variable_dtype
        'float32'
    """

    def __init__(self, name: str):
        if isinstance(name, Policy):
            name = name.name
        if name not in POLICIES:
            raise ConfigError(f"Cannot convert value {name!r} to a mixed precision Policy. "
                              f"Expected one of {list(POLICIES)}.")
        self.name = name
        if name.startswith("mixed_"):
            self.compute_dtype, self.variable_dtype = name[len("mixed_"):], "float32"
        else:
            self.compute_dtype = self.variable_dtype = name

    @property
    def is_mixed(self) -> bool:
        """Whether compute and variable dtypes differ."""
        return self.compute_dtype != self.variable_dtype

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Policy":
        return cls(**config)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<Policy "{self.name}">'


# The global policy (``mixed_precision.set_global_policy`` sets it): layers built with
# ``dtype=None`` under a mixed one take it, as tf.keras 2's do.
GLOBAL = [Policy("float32")]


def resolve_dtype(dtype: Any) -> tuple[Any, Policy | None]:
    """A layer's ``dtype`` argument -> ``(variable dtype, mixed policy or None)``: a ``mixed_*``
    name, ``Policy`` or tf.keras's ``{"class_name": "Policy", ...}`` config (or ``None`` under
    a mixed global policy) gives float32 weights and the policy; anything else is returned as
    it is, with no policy.

    Example:
        >>> resolve_dtype({"class_name": "Policy", "config": {"name": "float64"}})
        ('float64', None)
    """
    if dtype is None and GLOBAL[0].is_mixed:
        dtype = GLOBAL[0]
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    if isinstance(dtype, Policy):
        dtype = dtype.name
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        policy = Policy(dtype)
        return policy.variable_dtype, policy
    return dtype, None


def policy_config(policy: Policy) -> dict:
    """tf.keras 2's config of a layer's mixed policy (its ``.h5`` ``model_config`` holds this).

    Example:
        >>> policy_config(Policy("mixed_float16"))["config"]
        {'name': 'mixed_float16'}
    """
    return {"module": "keras.mixed_precision", "class_name": "Policy",
            "config": {"name": policy.name}, "registered_name": None}


def call_in_policy(layer: Any, compute: torch.dtype, args: tuple, kwargs: dict) -> Any:
    """``layer.call`` computing in ``compute`` (its inputs were cast to it): under
    ``torch.autocast`` so matmuls and convolutions read the float32 weights in half precision,
    and float outputs cast to ``compute`` as tf.keras's mixed layers return them.

    Example:
        >>> from savepoint.layers import Dense
        >>> dense = Dense(2); dense.build((None, 3))
        >>> call_in_policy(dense, torch.bfloat16, (torch.ones(1, 3),), {}).dtype
        torch.bfloat16
    """
    first = args[0] if args else None
    device = first.device.type if isinstance(first, torch.Tensor) else layer._device().type
    with torch.autocast(device_type=device, dtype=compute):
        outputs = layer.call(*args, **kwargs)
    return _cast_floats(outputs, compute)


def _cast_floats(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floats(v, dtype) for k, v in value.items()}
    return value


__all__ = ["GLOBAL", "POLICIES", "Policy", "call_in_policy", "policy_config", "resolve_dtype"]
