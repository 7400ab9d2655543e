"""Weight initializers with Keras names and formulas (fans computed as Keras computes them)."""

from __future__ import annotations

import math
from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.serialization import builtin, deserialize, serialize


def compute_fans(shape: tuple) -> tuple[float, float]:
    """Keras fans: for kernels ``(..., in, out)`` the receptive field multiplies both."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: ``init(shape, dtype)`` returns a new tensor."""

    def __call__(self, shape: tuple, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


@builtin("initializers", "zeros")
class Zeros(Initializer):
    def __call__(self, shape, dtype=torch.float32):
        return torch.zeros(shape, dtype=dtype)


@builtin("initializers", "ones")
class Ones(Initializer):
    def __call__(self, shape, dtype=torch.float32):
        return torch.ones(shape, dtype=dtype)


@builtin("initializers", "constant")
class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape, dtype=torch.float32):
        return torch.full(shape, float(self.value), dtype=dtype)

    def get_config(self):
        return {"value": self.value}


@builtin("initializers", "random_uniform")
class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=torch.float32):
        return torch.empty(shape, dtype=dtype).uniform_(self.minval, self.maxval,
                                                        generator=_generator(self.seed))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@builtin("initializers", "random_normal")
class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=torch.float32):
        return torch.empty(shape, dtype=dtype).normal_(self.mean, self.stddev,
                                                       generator=_generator(self.seed))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@builtin("initializers", "truncated_normal")
class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=torch.float32):
        t = torch.empty(shape, dtype=dtype)
        torch.nn.init.trunc_normal_(t, self.mean, self.stddev, -2 * self.stddev + self.mean,
                                    2 * self.stddev + self.mean, generator=_generator(self.seed))
        return t


@builtin("initializers", "variance_scaling")
class VarianceScaling(Initializer):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ConfigError(f"Expected mode in ('fan_in', 'fan_out', 'fan_avg'). Received: {mode!r}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ConfigError("Expected distribution in ('truncated_normal', 'untruncated_normal', "
                              f"'uniform'). Received: {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=torch.float32):
        fan_in, fan_out = compute_fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, fan)
        t = torch.empty(shape, dtype=dtype)
        gen = _generator(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return t.uniform_(-limit, limit, generator=gen)
        if self.distribution == "untruncated_normal":
            return t.normal_(0.0, math.sqrt(scale), generator=gen)
        std = math.sqrt(scale) / 0.87962566103423978
        torch.nn.init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std, generator=gen)
        return t

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _fixed(name: str, scale: float, mode: str, distribution: str) -> type:
    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                          "__module__": __name__})
    return cls


GlorotUniform = builtin("initializers", "glorot_uniform")(_fixed("GlorotUniform", 1.0, "fan_avg", "uniform"))
GlorotNormal = builtin("initializers", "glorot_normal")(_fixed("GlorotNormal", 1.0, "fan_avg", "truncated_normal"))
HeUniform = builtin("initializers", "he_uniform")(_fixed("HeUniform", 2.0, "fan_in", "uniform"))
HeNormal = builtin("initializers", "he_normal")(_fixed("HeNormal", 2.0, "fan_in", "truncated_normal"))
LecunUniform = builtin("initializers", "lecun_uniform")(_fixed("LecunUniform", 1.0, "fan_in", "uniform"))
LecunNormal = builtin("initializers", "lecun_normal")(_fixed("LecunNormal", 1.0, "fan_in", "truncated_normal"))


@builtin("initializers", "orthogonal")
class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=torch.float32):
        t = torch.empty(shape, dtype=dtype)
        flat = t.view(-1, shape[-1]) if len(shape) > 1 else t.view(1, -1)
        torch.nn.init.orthogonal_(flat, gain=self.gain, generator=_generator(self.seed))
        return t

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


def _generator(seed: int | None) -> torch.Generator | None:
    return torch.Generator().manual_seed(seed) if seed is not None else None


def get(identifier: Any) -> Initializer:
    """Resolve an initializer name, config dict or instance.

    Example:
        >>> get("zeros")((2,)).tolist()
        [0.0, 0.0]
    """
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, str):
        try:
            return deserialize(identifier, "initializers")
        except Exception:
            raise ConfigError(f"Unknown initializer '{identifier}'. Expected a Keras initializer "
                              "name such as 'glorot_uniform', 'zeros' or 'he_normal'.") from None
    if isinstance(identifier, dict):
        return deserialize(identifier, "initializers")
    raise ConfigError(f"Expected an initializer name, config or instance. Received: {identifier!r}.")


__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
           "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "get", "serialize"]
