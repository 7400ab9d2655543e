"""Helpers the preprocessing layers share: argument checks, image-rank handling and random draws."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError


def check_choice(layer: str, arg: str, value: Any, allowed: tuple) -> Any:
    """``value`` if it is one of ``allowed``, else a ``ConfigError`` naming the choices.

    Example:
        >>> check_choice("Resizing", "interpolation", "nearest", ("nearest", "bilinear"))
        'nearest'
    """
    if value not in allowed:
        raise ConfigError(f"{layer} expected `{arg}` to be one of {list(allowed)}. Received: "
                          f"{arg}={value!r}. Fix: pass one of the supported values.")
    return value


def positive_int(layer: str, arg: str, value: Any) -> int:
    """``value`` as an int > 0, else a ``ConfigError``.

    Example:
        >>> positive_int("CenterCrop", "height", 3)
        3
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{layer} expected `{arg}` to be a positive int. Received: "
                          f"{arg}={value!r}.")
    return int(value)


def factor_range(layer: str, arg: str, factor: Any, low: float | None = None,
                 high: float | None = None) -> tuple[float, float]:
    """Keras's factor argument: a float ``f`` means ``(-f, f)``, a pair means ``(lower, upper)``.

    Example:
        >>> factor_range("RandomRotation", "factor", 0.2)
        (-0.2, 0.2)
    """
    if isinstance(factor, (list, tuple)) and len(factor) == 2:
        lower, upper = float(factor[0]), float(factor[1])
    elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lower, upper = -float(factor), float(factor)
    else:
        raise ConfigError(f"{layer} expected `{arg}` to be a float or a pair (lower, upper). "
                          f"Received: {arg}={factor!r}.")
    if upper < lower:
        raise ConfigError(f"{layer} expected `{arg}` to have lower <= upper. Received: "
                          f"{arg}={factor!r}. Fix: swap the two values.")
    if (low is not None and lower < low) or (high is not None and upper > high):
        raise ConfigError(f"{layer} expected `{arg}` values in [{low}, {high}]. Received: "
                          f"{arg}={factor!r}.")
    return lower, upper


def as_batched_image(layer: Any, inputs: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """A channels-last image batch ``(N, H, W, C)``; an unbatched ``(H, W, C)`` gains a batch axis
    (the flag says to drop it again)."""
    if inputs.dim() == 3:
        return inputs.unsqueeze(0), True
    if inputs.dim() != 4:
        raise ShapeError(f"Layer '{layer.name}' expected images of rank 3 (H, W, C) or 4 "
                         f"(N, H, W, C). Received input of shape {tuple(inputs.shape)}.")
    return inputs, False


def uniform(shape: tuple, low: float, high: float, device: torch.device,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform draws in ``[low, high)`` on ``device``: from ``generator`` (a CPU generator, so a
    seed gives the same draws on every device) or else torch's global generator of ``device``.

    Unseeded augmentations draw from the global generators on purpose:
    ``savepoint.utils.set_random_seed`` seeds them and ``savepoint.utils.rng.capture``
    checkpoints them, so a resumed ``fit`` makes exactly the draws the uninterrupted run made.

    Example:
        >>> uniform((2,), 0.5, 0.5, torch.device("cpu")).tolist()
        [0.5, 0.5]
    """
    if generator is None:
        u = torch.rand(shape, dtype=torch.float32, device=device)
    else:
        u = torch.rand(shape, dtype=torch.float32, generator=generator).to(device)
    return low + (high - low) * u


def check_seed(layer: str, seed: Any) -> int | None:
    """``seed`` as an int or None, else a ``ConfigError``.

    Example:
        >>> check_seed("RandomFlip", 7)
        7
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{layer} expected `seed` to be an int or None. Received: "
                          f"seed={seed!r}. Fix: pass an int such as seed=1337, or None.")
    return seed


def seeded_generator(seed: int | None) -> torch.Generator | None:
    """A layer's own CPU generator for ``seed`` (as tf.keras gives each seeded random layer its
    own generator), or None to draw from torch's global generators.

    Example:
        >>> a, b = seeded_generator(3), seeded_generator(3)
        >>> bool(torch.equal(torch.rand(2, generator=a), torch.rand(2, generator=b)))
        True
    """
    return None if seed is None else torch.Generator().manual_seed(seed)


def random_config(config: dict, seed: Any) -> dict:
    """The config keys tf-keras 2 writes for every random layer (``seed``, ``rng_type``)."""
    return {**config, "rng_type": "stateful", "seed": seed}


def keras3_config_out(config: dict) -> dict:
    """A random layer's config as Keras 3 takes it: without tf-keras 2's ``rng_type``.

    Example:
        >>> keras3_config_out({"seed": 1, "rng_type": "stateful"})
        {'seed': 1}
    """
    return {k: v for k, v in config.items() if k != "rng_type"}


def check_rng_type(layer: str, rng_type: Any) -> None:
    """tf-keras 2 records ``rng_type``; savepoint draws from the global generators (see
    :func:`uniform`), which is tf-keras's ``"stateful"`` behaviour."""
    if rng_type not in (None, "stateful", "stateless", "legacy_stateful"):
        raise ConfigError(f"{layer} expected `rng_type` to be one of ['stateful', 'stateless', "
                          f"'legacy_stateful'] or None. Received: rng_type={rng_type!r}.")


def check_data_format(layer: str, data_format: Any) -> None:
    """Keras 3 records ``data_format``; savepoint's image layers are channels-last."""
    if data_format not in (None, "channels_last"):
        raise ConfigError(f"{layer} expected `data_format` 'channels_last'. Received: "
                          f"data_format={data_format!r}. Fix: transpose the images to "
                          f"channels-last (N, H, W, C).")
