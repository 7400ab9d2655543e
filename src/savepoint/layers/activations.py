"""``keras.activations``: every activation function tf.keras 2 knows, by name, with Keras 2's own
definitions (``hard_sigmoid`` is ``clip(0.2 x + 0.5)``, ``gelu`` is exact by default), and
``get``/``serialize``/``deserialize``.

On a symbolic ``KerasTensor`` (functional API) each function records the TF-op layer tf.keras 2
records (``relu`` -> ``tf.nn.relu``, ``sigmoid`` -> ``tf.math.sigmoid`` ...) with the recorders
of ``savepoint.layers.tf_op.backend_ops.ACTIVATIONS``: the functions themselves stay the same
objects (``keras.activations.relu is keras.layers.activations.relu``), so the dispatch is one
isinstance check inside each of them.

Example:
    >>> import torch
    >>> relu(torch.tensor([-2.0, 1.0, 8.0]), alpha=0.5, max_value=6.0).tolist()
    [-1.0, 1.0, 6.0]
    >>> serialize(get("silu"))
    'swish'
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError
from savepoint.layers.symbolic import KerasTensor


def _record(name: str, x: KerasTensor, *args: object, **kwargs: object) -> KerasTensor:
    """Record ``name`` on a symbolic tensor as tf.keras 2 does (a ``TFOpLambda``)."""
    # Imported here: tf_op imports the layer machinery, which imports this module.
    from savepoint.layers.tf_op.backend_ops import ACTIVATIONS
    return ACTIVATIONS[name](x, *args, **kwargs)


def linear(x: torch.Tensor) -> torch.Tensor:
    """The identity.

    Example:
        >>> linear(torch.ones(1)).tolist()
        [1.0]
    """
    return x


def relu(x: torch.Tensor, alpha: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> torch.Tensor:
    """Keras 2's ``relu``: ``x`` above ``threshold`` (capped at ``max_value``), else
    ``alpha * (x - threshold)``.

    Example:
        >>> relu(torch.tensor([-1.0, 0.5, 2.0]), threshold=1.0).tolist()
        [-0.0, 0.0, 2.0]
    """
    if isinstance(x, KerasTensor):
        return _record("relu", x, alpha=alpha, max_value=max_value, threshold=threshold)
    if max_value is None and threshold == 0:  # the hot path: one fused kernel
        return torch.relu(x) if alpha == 0 else F.leaky_relu(x, alpha)
    negative = None
    if alpha != 0:
        negative = torch.relu(threshold - x) if threshold != 0 else torch.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        # Keras 2 multiplies by the mask (so -0.0 stays -0.0), not a where().
        x = x * (x > threshold).to(x.dtype)
    elif max_value == 6:
        x, clip_max = F.relu6(x), False
    else:
        x = torch.relu(x)
    if clip_max:
        x = torch.clamp(x, 0.0, float(max_value))
    if negative is not None:
        x = x - alpha * negative
    return x


def _check_rank(x: torch.Tensor, what: str) -> None:
    if x.dim() <= 1:
        raise ConfigError(f"Expected a tensor of rank >= 2 for {what}. Received: a tensor of "
                          f"shape {tuple(x.shape)}. Fix: add a batch dimension.")


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (rank >= 2, as Keras 2 requires).

    Example:
        >>> softmax(torch.zeros(1, 2)).tolist()
        [[0.5, 0.5]]
    """
    if isinstance(x, KerasTensor):
        return _record("softmax", x, axis=axis)
    _check_rank(x, "softmax")
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """``x - logsumexp(x)`` along ``axis``.

    Example:
        >>> log_softmax(torch.zeros(1, 1)).tolist()
        [[0.0]]
    """
    if isinstance(x, KerasTensor):
        return _record("log_softmax", x, axis=axis)
    return torch.log_softmax(x, dim=axis)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``x`` if positive else ``alpha * (exp(x) - 1)``.

    Example:
        >>> elu(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("elu", x, alpha=alpha)
    return F.elu(x, alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled ELU with the constants of Klambauer et al. (2017).

    Example:
        >>> selu(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("selu", x)
    return F.selu(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(exp(x) + 1)``.

    Example:
        >>> round(softplus(torch.zeros(1)).item(), 4)
        0.6931
    """
    if isinstance(x, KerasTensor):
        return _record("softplus", x)
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """``x / (|x| + 1)``.

    Example:
        >>> softsign(torch.ones(1)).tolist()
        [0.5]
    """
    if isinstance(x, KerasTensor):
        return _record("softsign", x)
    return F.softsign(x)


def swish(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)`` (also named ``silu``).

    Example:
        >>> swish(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("swish", x)
    return F.silu(x)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit: exact ``0.5 x (1 + erf(x / sqrt(2)))`` by default, the tanh
    form with ``approximate=True``.

    Example:
        >>> gelu(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("gelu", x, approximate=approximate)
    return F.gelu(x, approximate="tanh" if approximate else "none")


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent.

    Example:
        >>> tanh(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("tanh", x)
    return torch.tanh(x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``.

    Example:
        >>> sigmoid(torch.zeros(1)).tolist()
        [0.5]
    """
    if isinstance(x, KerasTensor):
        return _record("sigmoid", x)
    return torch.sigmoid(x)


def exponential(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)``.

    Example:
        >>> exponential(torch.zeros(1)).tolist()
        [1.0]
    """
    if isinstance(x, KerasTensor):
        return _record("exponential", x)
    return torch.exp(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 2's piecewise sigmoid ``clip(0.2 x + 0.5, 0, 1)`` (Keras 3 uses ``x / 6``).

    Example:
        >>> hard_sigmoid(torch.zeros(1)).tolist()
        [0.5]
    """
    if isinstance(x, KerasTensor):
        return _record("hard_sigmoid", x)
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def keras3_hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's ``hard_sigmoid``, ``relu6(x + 3) / 6``: what a Keras 3 file's
    ``"hard_sigmoid"`` means (the Keras 3 dialect renames it on the way in and back out).

    Example:
        >>> keras3_hard_sigmoid(torch.tensor([0.0, 1.5])).tolist()
        [0.5, 0.75]
    """
    return F.hardsigmoid(x)


def keras3_hard_silu(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's ``hard_silu`` (``hard_swish``), ``x * relu6(x + 3) / 6``; tf.keras 2 has none.

    Example:
        >>> keras3_hard_silu(torch.tensor([0.0, 3.0])).tolist()
        [0.0, 3.0]
    """
    return F.hardswish(x)


def _keras3_only(name: str, fn: Callable, doc: str) -> Callable:
    """A Keras 3 activation tf.keras 2 lacks, under its Keras 3 name (Keras 3 files use it)."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _sparse_plus(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, x, 0.25 * (x + 1) ** 2))


_KERAS3_ONLY: dict[str, Callable] = {
    name: _keras3_only(name, fn, f"Keras 3's ``{name}`` (no tf.keras 2 equivalent).")
    for name, fn in {
        "celu": lambda x, alpha=1.0: F.celu(x, alpha),
        "glu": lambda x, axis=-1: F.glu(x, dim=axis),
        "hard_tanh": lambda x: F.hardtanh(x),
        "hard_shrink": lambda x, threshold=0.5: F.hardshrink(x, threshold),
        "soft_shrink": lambda x, threshold=0.5: F.softshrink(x, threshold),
        "tanh_shrink": lambda x: F.tanhshrink(x),
        "log_sigmoid": lambda x: F.logsigmoid(x),
        "squareplus": lambda x, b=4: (x + torch.sqrt(x * x + b)) / 2,
        "sparse_plus": _sparse_plus,
        "sparse_sigmoid": lambda x: torch.clamp(0.5 * (x + 1), 0.0, 1.0),
    }.items()}


def mish(x: torch.Tensor) -> torch.Tensor:
    """``x * tanh(softplus(x))``.

    Example:
        >>> mish(torch.zeros(1)).tolist()
        [0.0]
    """
    if isinstance(x, KerasTensor):
        return _record("mish", x)
    return F.mish(x)


def relu6(x: torch.Tensor) -> torch.Tensor:
    """``min(max(x, 0), 6)``.

    Example:
        >>> relu6(torch.tensor([9.0])).tolist()
        [6.0]
    """
    if isinstance(x, KerasTensor):
        return _record("relu6", x)
    return F.relu6(x)


def leaky_relu(x: torch.Tensor, alpha: float = 0.2) -> torch.Tensor:
    """``tf.nn.leaky_relu`` (slope 0.2 below zero), the name tf.keras 2 resolves.

    Example:
        >>> leaky_relu(torch.tensor([-1.0, 2.0])).tolist()
        [-0.20000000298023224, 2.0]
    """
    if isinstance(x, KerasTensor):
        return _record("leaky_relu", x, alpha=alpha)
    return F.leaky_relu(x, alpha)


_ACTIVATIONS: dict[str, Callable] = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "elu": elu, "selu": selu, "gelu": gelu, "softplus": softplus,
    "softsign": softsign, "swish": swish, "silu": swish, "relu6": relu6,
    "leaky_relu": leaky_relu, "mish": mish, "hard_sigmoid": hard_sigmoid,
    "exponential": exponential,
    # Keras 3's definitions under their own names (saving/dialects/keras3.py maps them)
    "keras3_hard_sigmoid": keras3_hard_sigmoid, "keras3_hard_silu": keras3_hard_silu,
    **_KERAS3_ONLY,
}
# Functions that older savepoint code and users pass directly: they serialize by Keras name.
_ALIASES: dict[int, str] = {id(torch.relu): "relu", id(torch.sigmoid): "sigmoid",
                            id(torch.tanh): "tanh", id(F.elu): "elu", id(F.selu): "selu",
                            id(F.gelu): "gelu", id(F.softplus): "softplus",
                            id(F.softsign): "softsign", id(F.silu): "swish",
                            id(F.relu6): "relu6", id(F.mish): "mish", id(torch.exp): "exponential"}
_NAMES = {id(fn): name for name, fn in _ACTIVATIONS.items() if name != "silu"}
_NAMES.update(_ALIASES)


def get(identifier: str | Callable | dict | None) -> Callable:
    """Resolve an activation name (``"relu"``), a serialized dict or a callable; ``None`` means
    linear.

    Example:
        >>> get("relu")(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        config = identifier.get("config")
        identifier = config if isinstance(config, str) else (config or {}).get(
            "name", identifier.get("class_name"))
    fn = _ACTIVATIONS.get(identifier) if isinstance(identifier, str) else None
    if fn is None:
        from savepoint.serialization import get_custom_objects
        custom = [f for key, f in get_custom_objects().items()
                  if isinstance(identifier, str) and identifier in (key, key.split(">")[-1])]
        if custom and callable(custom[0]):
            return custom[0]
        raise ConfigError(
            f"Unknown activation '{identifier}'. Expected one of: "
            f"{', '.join(sorted(_ACTIVATIONS))}, or a function registered with "
            f"register_serializable(). Received: {identifier!r}.")
    return fn


def deserialize(name: str | dict, custom_objects: dict | None = None) -> Callable:
    """The function a serialized activation names (``custom_objects`` first).

    Example:
        >>> deserialize("tanh") is tanh
        True
    """
    if custom_objects and isinstance(name, str) and name in custom_objects:
        return custom_objects[name]
    return get(name)


def serialize(fn: Callable) -> str:
    """The Keras name of an activation function (``"relu"``).

    Example:
        >>> serialize(torch.relu)
        'relu'
    """
    name = _NAMES.get(id(fn))
    if name is None:
        name = getattr(fn, "__name__", None)
        if name is None or (name not in _ACTIVATIONS and not hasattr(fn, "_registered_name")):
            raise ConfigError(
                f"Cannot serialize activation {fn!r}. Expected a built-in activation or a "
                f"function registered with register_serializable(). Fix: register it.")
    return name


__all__ = ["deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid",
           "keras3_hard_sigmoid", "keras3_hard_silu", "leaky_relu", "linear", "log_softmax",
           "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "softmax", "softplus",
           "softsign", "swish", "tanh"]
