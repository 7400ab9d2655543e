"""The initializer/regularizer/constraint arguments a layer keeps per weight role (``kernel``,
``bias``, ``gamma``, ``beta`` ...): resolving them, creating the weight, and their config entries.

Keras gives every weighted layer the same trio of arguments per weight; these helpers keep the
attribute names (``kernel_initializer`` ...) and the config order of Keras in one place.

Example:
    >>> from savepoint.layers.base import Layer
    >>> layer = Layer()
    >>> set_weight_args(layer, "kernel", "ones")
    >>> add_role_weight(layer, "kernel", (2,)).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

from savepoint.layers import constraints, initializers, regularizers
from savepoint.serialization import serialize


def set_weight_args(layer: Any, role: str, initializer: Any, regularizer: Any = None,
                    constraint: Any = None) -> None:
    """Resolve and set ``layer.<role>_initializer``, ``_regularizer`` and ``_constraint``.

    Example:
        >>> from savepoint.layers.base import Layer
        >>> layer = Layer(); set_weight_args(layer, "bias", "zeros")
        >>> type(layer.bias_initializer).__name__, layer.bias_regularizer
        ('Zeros', None)
    """
    setattr(layer, f"{role}_initializer", initializers.get(initializer))
    setattr(layer, f"{role}_regularizer", regularizers.get(regularizer))
    setattr(layer, f"{role}_constraint", constraints.get(constraint))


def set_kernel_bias_args(layer: Any, kernel_initializer: Any, bias_initializer: Any,
                         kernel_regularizer: Any, bias_regularizer: Any, kernel_constraint: Any,
                         bias_constraint: Any) -> None:
    """``set_weight_args`` for ``kernel`` and ``bias``, in Keras's argument order.

    Example:
        >>> from savepoint.layers.base import Layer
        >>> layer = Layer()
        >>> set_kernel_bias_args(layer, "glorot_uniform", "zeros", None, None, None, None)
        >>> sorted(kernel_bias_args(layer))[:2]
        ['bias_constraint', 'bias_initializer']
    """
    set_weight_args(layer, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
    set_weight_args(layer, "bias", bias_initializer, bias_regularizer, bias_constraint)


def kernel_bias_args(layer: Any) -> dict[str, Any]:
    """The six resolved kernel/bias arguments of ``layer``, as keywords for a sublayer (the way
    MultiHeadAttention hands its own to its EinsumDense projections).

    Example:
        >>> from savepoint.layers.base import Layer
        >>> layer = Layer()
        >>> set_kernel_bias_args(layer, "ones", "zeros", None, None, None, None)
        >>> len(kernel_bias_args(layer))
        6
    """
    return {f"{role}_{part}": getattr(layer, f"{role}_{part}")
            for part in ("initializer", "regularizer", "constraint")
            for role in ("kernel", "bias")}


def add_role_weight(layer: Any, role: str, shape: tuple, **kwargs: Any) -> Any:
    """``layer.add_weight(role, shape)`` with the layer's initializer, regularizer and
    constraint for ``role``.

    Example:
        >>> from savepoint.layers.base import Layer
        >>> layer = Layer(); set_weight_args(layer, "gamma", "ones")
        >>> tuple(add_role_weight(layer, "gamma", (3,)).shape)
        (3,)
    """
    return layer.add_weight(role, shape, getattr(layer, f"{role}_initializer"),
                            regularizer=getattr(layer, f"{role}_regularizer"),
                            constraint=getattr(layer, f"{role}_constraint"), **kwargs)


def weight_args_config(layer: Any, roles: tuple[str, ...],
                       activity_regularizer: bool = False) -> dict[str, Any]:
    """The config entries of ``roles``' arguments in Keras's order: every initializer, every
    regularizer (then ``activity_regularizer`` when asked), every constraint.

    Example:
        >>> from savepoint.layers.base import Layer
        >>> layer = Layer(); set_weight_args(layer, "beta", "zeros")
        >>> list(weight_args_config(layer, ("beta",)))
        ['beta_initializer', 'beta_regularizer', 'beta_constraint']
    """
    config = {f"{role}_initializer": serialize(getattr(layer, f"{role}_initializer"))
              for role in roles}
    config.update({f"{role}_regularizer": serialize(getattr(layer, f"{role}_regularizer"))
                   for role in roles})
    if activity_regularizer:
        config["activity_regularizer"] = serialize(layer.activity_regularizer)
    config.update({f"{role}_constraint": serialize(getattr(layer, f"{role}_constraint"))
                   for role in roles})
    return config
