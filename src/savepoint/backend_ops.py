"""``keras.backend``'s model functions and layer ops: ``function``, ``gradients``, ``conv1d``,
``conv2d``, ``pool2d`` and ``rnn``, with tf.keras 2's eager-mode behaviour, on torch tensors.

``savepoint.backend`` re-exports them.

Example:
    >>> import savepoint.backend as K
    >>> K.conv1d(K.ones((1, 4, 1)), K.ones((2, 1, 1))).reshape(-1).tolist()
    [2.0, 2.0, 2.0]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from savepoint.backend_tensors import _t, image_data_format
from savepoint.errors import ConfigError, GraphModeError


# ----- model functions -------------------------------------------------------------------------
def function(inputs: Any, outputs: Any, updates: Any = None, name: str | None = None,
             **kwargs: Any) -> Callable[[Any], Any]:
    """tf.keras 2's eager ``K.function``: a callable that runs ``Model(inputs, outputs)`` in
    inference mode and returns numpy (a list when ``outputs`` is a list).

    Example:
        >>> import numpy as np, savepoint as keras
        >>> x = keras.Input((2,)); y = keras.layers.Dense(3)(x)
        >>> [a.shape for a in function([x], [y])([np.ones((4, 2))])]
        [(4, 3)]
    """
    if updates is not None:
        raise ConfigError(f"K.function expected updates=None: the `updates` argument is not "
                          f"supported during eager execution (tf.keras 2 refuses it too). "
                          f"Received: {updates!r}. Fix: apply the updates yourself, or train "
                          f"with model.fit.")
    if kwargs:
        raise ConfigError(f"K.function expected no session keyword arguments: they are not "
                          f"supported during eager execution (tf.keras 2 refuses them too). "
                          f"Received: {kwargs!r}. Fix: drop them.")
    from savepoint.models.model import Model  # models import backend: resolve at call time
    from savepoint.utils.structure import concat_batches
    model = Model(inputs=inputs, outputs=outputs, name=name)
    wrap = isinstance(outputs, list) and len(outputs) == 1

    def run(model_inputs: Any) -> Any:
        with torch.no_grad():
            outs = model(model_inputs, training=False)
        return concat_batches([[outs] if wrap else outs])

    return run


def gradients(loss: Any, variables: Any) -> Any:
    """tf.keras 2's ``K.gradients`` is graph-mode only and raises in eager mode; so does this.

    Example:
        >>> gradients(None, [])  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.GraphModeError: ...
    """
    raise GraphModeError(
        "K.gradients expected TensorFlow graph mode, which savepoint (like tf.keras 2 in eager "
        "mode: 'tf.gradients is not supported when eager execution is enabled') does not have. "
        "Received a call in eager mode. Fix: compute the loss from a forward pass and use torch "
        "autograd, the replacement for tf.GradientTape: "
        "`grads = torch.autograd.grad(loss, [v.value for v in variables])`.")


# ----- convolution and pooling -------------------------------------------------------------
def _data_format(value: str | None) -> str:
    value = value or image_data_format()
    if value not in ("channels_last", "channels_first"):
        raise ConfigError(f"Expected data_format 'channels_last' or 'channels_first'. "
                          f"Received: {value!r}.")
    return value


def _padding(value: str, allowed: Sequence[str]) -> str:
    value = str(value).lower()
    if value not in allowed:
        raise ConfigError(f"Expected padding to be one of {list(allowed)}. Received: "
                          f"{value!r}.")
    return value


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return (int(value),) * n if isinstance(value, int) else tuple(int(v) for v in value)


def _conv(x: Any, kernel: Any, strides: tuple, padding: str, data_format: str,
          dilation: tuple) -> torch.Tensor:
    """Channels-last or -first N-d convolution with TensorFlow's padding (rank 1 or 2)."""
    from savepoint.layers.convolutional.conv_utils import (explicit_padding, from_channels_first,
                                                           split_padding, to_channels_first)
    x, kernel = _t(x), _t(kernel)
    rank = kernel.dim() - 2
    x = to_channels_first(x, data_format)
    pads = explicit_padding(tuple(x.shape[2:]), tuple(kernel.shape[:rank]), strides, padding,
                            dilation)
    x, sym = split_padding(x, pads)
    weight = kernel.permute(rank + 1, rank, *range(rank)).to(x.dtype)  # (out, in, *k)
    conv = F.conv1d if rank == 1 else F.conv2d
    out = conv(x, weight, stride=strides, padding=sym, dilation=dilation)
    return from_channels_first(out, data_format)


def conv1d(x: Any, kernel: Any, strides: int = 1, padding: str = "valid",
           data_format: str | None = None, dilation_rate: int = 1) -> torch.Tensor:
    """1-D convolution of ``(batch, steps, channels)`` with a ``(k, in, out)`` kernel
    (``padding`` ``valid``, ``same`` or ``causal``, as ``K.conv1d``).

    Example:
        >>> conv1d(torch.ones(1, 3, 1), torch.ones(2, 1, 1), padding="causal").reshape(-1).tolist()
        [1.0, 2.0, 2.0]
    """
    padding = _padding(padding, ("valid", "same", "causal"))
    return _conv(x, kernel, _tuple(strides, 1), padding, _data_format(data_format),
                 _tuple(dilation_rate, 1))


def conv2d(x: Any, kernel: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str | None = None, dilation_rate: Any = (1, 1)) -> torch.Tensor:
    """2-D convolution with a ``(kh, kw, in, out)`` kernel and TensorFlow's ``same`` padding.

    Example:
        >>> conv2d(torch.ones(1, 3, 3, 1), torch.ones(2, 2, 1, 1), padding="same").shape
        torch.Size([1, 3, 3, 1])
    """
    padding = _padding(padding, ("valid", "same"))
    return _conv(x, kernel, _tuple(strides, 2), padding, _data_format(data_format),
                 _tuple(dilation_rate, 2))


def pool2d(x: Any, pool_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str | None = None, pool_mode: str = "max") -> torch.Tensor:
    """2-D max or average pooling (``pool_mode``), as ``K.pool2d``: note its default
    ``strides=(1, 1)``; ``same`` average pooling leaves padding out of the count.

    Example:
        >>> pool2d(torch.arange(4.0).reshape(1, 2, 2, 1), (2, 2)).reshape(-1).tolist()
        [3.0]
    """
    from savepoint.layers.pooling import AveragePooling2D, MaxPooling2D
    if pool_mode not in ("max", "avg"):
        raise ConfigError(f"Expected pool_mode 'max' or 'avg'. Received: {pool_mode!r}.")
    kind = MaxPooling2D if pool_mode == "max" else AveragePooling2D
    # a named layer: no unique-name counter moves, so later layers keep tf.keras's names
    layer = kind(pool_size=_tuple(pool_size, 2), strides=_tuple(strides, 2),
                 padding=_padding(padding, ("valid", "same")),
                 data_format=_data_format(data_format), name="k_pool2d")
    return layer.call(_t(x))


# ----- recurrence ------------------------------------------------------------------------------
def rnn(step_function: Callable, inputs: Any, initial_states: Sequence, go_backwards: bool = False,
        mask: Any = None, constants: Sequence | None = None, unroll: bool = False,
        input_length: int | None = None, time_major: bool = False,
        zero_output_for_mask: bool = False, return_all_outputs: bool = True) -> tuple:
    """tf.keras 2's ``K.rnn``: ``step_function(input_t, states + constants) -> (output,
    new_states)`` over the time axis; returns ``(last_output, outputs, new_states)``. Masked
    steps keep the previous states, and the previous output (zeros with
    ``zero_output_for_mask``). ``unroll``/``input_length`` are tf.keras's speed hints: the
    result is the same either way.

    Example:
        >>> step = lambda x, s: (x + s[0], [x + s[0]])
        >>> last, outs, states = rnn(step, torch.ones(1, 3, 2), [torch.zeros(1, 2)])
        >>> last.tolist(), tuple(outs.shape)
        ([[3.0, 3.0]], (1, 3, 2))
    """
    x = _t(inputs)
    x = x if time_major else x.transpose(0, 1)  # (time, batch, ...)
    states = [_t(s) for s in initial_states]
    keep = None
    if mask is not None:
        keep = _t(mask).bool()
        keep = keep if time_major else keep.transpose(0, 1)
        if keep.dim() != 2:
            raise ConfigError(f"K.rnn expected a mask of rank 2 (batch, time). Received shape "
                              f"{tuple(_t(mask).shape)}.")
    if go_backwards:
        x = x.flip(0)
        keep = keep.flip(0) if keep is not None else None
    extra = tuple(constants or ())
    outputs: list[torch.Tensor] = []
    previous = None
    for t in range(x.shape[0]):
        output, new = step_function(x[t], tuple(states) + extra)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        if keep is not None:
            k = keep[t]
            if previous is None or zero_output_for_mask:
                previous = torch.zeros_like(output)
            output = torch.where(_expand(k, output), output, previous)
            new = [torch.where(_expand(k, n), n, s) for n, s in zip(new, states)]
        states, previous = new, output
        if return_all_outputs or t == x.shape[0] - 1:
            outputs.append(output)
    stacked = torch.stack(outputs, 0)
    return outputs[-1], stacked if time_major else stacked.transpose(0, 1), states


def _expand(keep: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return keep.reshape(keep.shape + (1,) * (like.dim() - keep.dim()))


__all__ = ["conv1d", "conv2d", "function", "gradients", "pool2d", "rnn"]
