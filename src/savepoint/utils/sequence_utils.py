"""``pad_sequences``: lists of variable-length sequences -> one padded 2-D+ numpy array."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from savepoint.errors import ConfigError


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: str = "int32",
                  padding: str = "pre", truncating: str = "pre",
                  value: Any = 0.0) -> np.ndarray:
    """Pad (or truncate) each sequence to ``maxlen``, as ``tf.keras.utils.pad_sequences``.

    ``padding``/``truncating`` are ``"pre"`` (at the start, the default) or ``"post"``.

    Example:
        >>> pad_sequences([[1, 2], [3]], maxlen=3).tolist()
        [[0, 1, 2], [0, 0, 3]]
    """
    if not hasattr(sequences, "__len__"):
        raise ConfigError(f"Expected `sequences` to be iterable with a length (a list of "
                          f"lists). Received: {type(sequences).__name__}.")
    for name, mode in (("padding", padding), ("truncating", truncating)):
        if mode not in ("pre", "post"):
            raise ConfigError(f"Expected {name} to be 'pre' or 'post'. Received: "
                              f"{name}={mode!r}.")
    num_samples = len(sequences)
    lengths, sample_shape, flag = [], (), True
    for x in sequences:
        try:
            lengths.append(len(x))
            if flag and len(x):
                sample_shape = np.asarray(x).shape[1:]
                flag = False
        except TypeError as e:
            raise ConfigError(f"Expected `sequences` to be a list of iterables. Found "
                              f"non-iterable: {x!r}.") from e
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    is_dtype_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype),
                                                                             np.object_)
    if isinstance(value, str) and dtype != object and not is_dtype_str:
        raise ConfigError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                          f"{type(value)}. You should set `dtype=object` for variable length "
                          f"strings.")
    x = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ConfigError(f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} "
                              f"is different from expected shape {sample_shape}.")
        if maxlen == 0:
            continue
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, maxlen - len(trunc):] = trunc
    return x


__all__ = ["pad_sequences"]
