"""Argument checks and TensorFlow's padding arithmetic shared by convolution and pooling layers.

TensorFlow's ``'same'`` padding is asymmetric: for an even kernel or a stride the extra padded
cell goes after (bottom/right/back). Torch pads symmetrically, so the symmetric part goes to the
kernel's own ``padding`` argument and only the remainder is padded explicitly.

Example:
    >>> same_padding(5, 2, 1)
    (0, 1)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError, ShapeError

_DATA_FORMATS = ("channels_last", "channels_first")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def normalize_tuple(value: Any, n: int, arg: str, layer: str,
                    allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of ``n`` positive ints -> a tuple of ``n`` ints.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size", "Conv2D")
        (3, 3)
    """
    items = (value,) * n if _is_int(value) else value
    try:
        out = tuple(int(v) for v in items)
        bad = len(out) != n or not all(_is_int(v) for v in items)
    except (TypeError, ValueError):
        out, bad = (), True
    low = 0 if allow_zero else 1
    if bad or any(v < low for v in out):
        kind = "non-negative" if allow_zero else "positive"
        raise ConfigError(f"{layer} expected `{arg}` to be a {kind} int or a tuple of {n} "
                          f"{kind} ints. Received: {arg}={value!r}.")
    return out


def normalize_padding(value: Any, layer: str, allowed: Sequence[str] = ("valid", "same")) -> str:
    """One of ``allowed`` (case-insensitive), else a ``ConfigError``.

    Example:
        >>> normalize_padding("SAME", "Conv2D")
        'same'
    """
    padding = str(value).lower()
    if padding not in allowed:
        names = " or ".join(repr(a) for a in allowed)
        raise ConfigError(f"{layer} expected `padding` to be {names}. Received: "
                          f"padding={value!r}.")
    return padding


def normalize_data_format(value: Any, layer: str) -> str:
    """``None`` -> ``'channels_last'``; otherwise one of the two Keras data formats.

    Example:
        >>> normalize_data_format(None, "Conv2D")
        'channels_last'
    """
    data_format = "channels_last" if value is None else str(value).lower()
    if data_format not in _DATA_FORMATS:
        raise ConfigError(f"{layer} expected `data_format` to be 'channels_last' or "
                          f"'channels_first'. Received: data_format={value!r}.")
    return data_format


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``'same'`` padding ``(before, after)`` of one spatial dimension.

    Example:
        >>> same_padding(7, 4, 2)   # the extra pad goes after (bottom/right)
        (1, 2)
    """
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def explicit_padding(sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                     padding: str, dilation: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """``(before, after)`` per spatial dimension for ``'valid'``, ``'same'`` or ``'causal'``.

    Example:
        >>> explicit_padding([5], [3], [1], "causal", [2])
        [(4, 0)]
    """
    dilation = dilation or (1,) * len(kernel)
    if padding == "same":
        return [same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]
    if padding == "causal":
        return [((k - 1) * d, 0) for k, d in zip(kernel, dilation)]
    return [(0, 0)] * len(kernel)


def split_padding(x: torch.Tensor, pads: Sequence[tuple[int, int]],
                  value: float = 0.0) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Pad ``x`` (channels-first, spatial dims last) by the asymmetric remainder of ``pads``;
    return it with the symmetric part, for the torch kernel's own ``padding`` argument.

    Example:
        >>> y, sym = split_padding(torch.zeros(1, 1, 4, 4), [(0, 1), (1, 1)])
        >>> tuple(y.shape), sym
        ((1, 1, 5, 4), (0, 1))
    """
    sym = tuple(min(b, a) for b, a in pads)
    extra: list[int] = []
    for (b, a), s in zip(reversed(pads), reversed(sym)):
        extra += [b - s, a - s]
    if any(extra):
        x = F.pad(x, extra, value=value)
    return x, sym


def output_length(size: int | None, kernel: int, stride: int, padding: str,
                  dilation: int = 1) -> int | None:
    """Output length of one spatial dimension of a convolution or pooling (``None`` stays).

    Example:
        >>> output_length(28, 3, 1, "valid")
        26
    """
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    effective = (kernel - 1) * dilation + 1
    if padding == "causal":
        return math.ceil(size / stride)
    return max(math.floor((size - effective) / stride) + 1, 0)


def deconv_output_length(size: int | None, kernel: int, padding: str,
                         output_padding: int | None, stride: int,
                         dilation: int = 1) -> int | None:
    """tf.keras's output length of a transposed convolution (``conv_utils.deconv_output_length``).

    Example:
        >>> deconv_output_length(4, 3, "valid", None, 2)
        9
    """
    if size is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(effective - stride, 0)
        return size * stride
    pad = effective // 2 if padding == "same" else 0
    return (size - 1) * stride + effective - 2 * pad + output_padding


def check_rank(layer: Any, shape: Sequence, rank: int) -> None:
    """Raise Keras's incompatibility error when an input is not of rank ``rank``.

    Example:
        >>> check_rank(None, (1, 2, 3), 3)
    """
    if len(shape) != rank:
        name = getattr(layer, "name", type(layer).__name__)
        raise ShapeError(
            f"Input 0 of layer \"{name}\" is incompatible with the layer: expected "
            f"ndim={rank}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")


def to_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    """A channels-last tensor as a channels-first *view*: for 4-D/5-D inputs the view has
    torch's channels_last memory format, so convolutions run on it without a copy.

    Example:
        >>> to_channels_first(torch.zeros(2, 5, 5, 3), "channels_last").shape
        torch.Size([2, 3, 5, 5])
    """
    if data_format == "channels_first":
        return x
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def from_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    """The inverse view of ``to_channels_first``.

    Example:
        >>> from_channels_first(torch.zeros(2, 3, 5, 5), "channels_last").shape
        torch.Size([2, 5, 5, 3])
    """
    if data_format == "channels_first":
        return x
    return x.permute(0, *range(2, x.dim()), 1)


def spatial_dims(shape: Sequence, data_format: str) -> tuple:
    """The spatial part of an input shape.

    Example:
        >>> spatial_dims((None, 6, 5, 3), "channels_last")
        (6, 5)
    """
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def with_spatial(shape: Sequence, spatial: Sequence, channels: Any, data_format: str) -> tuple:
    """Assemble an output shape from batch, spatial dims and channels.

    Example:
        >>> with_spatial((None, 6, 6, 3), (3, 3), 8, "channels_first")
        (None, 8, 3, 3)
    """
    if data_format == "channels_last":
        return (shape[0], *spatial, channels)
    return (shape[0], channels, *spatial)


__all__ = ["normalize_tuple", "normalize_padding", "normalize_data_format", "same_padding",
           "explicit_padding", "split_padding", "output_length", "deconv_output_length",
           "check_rank", "to_channels_first", "from_channels_first", "spatial_dims",
           "with_spatial"]
