"""``LambdaCallback``: a callback made of plain functions, one per hook the user passes."""

from __future__ import annotations

from typing import Callable

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError
from savepoint.serialization import builtin

_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


@builtin("callbacks", "lambda_callback")
class LambdaCallback(Callback):
    """Call the given functions at the matching hooks; hooks not given do nothing.

    Signatures: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``. Any other hook of ``Callback`` (``on_train_batch_end``,
    ``on_test_begin`` ...) may be passed by keyword. A batch hook costs nothing per step unless
    its function is given.

    Example:
        >>> import numpy as np, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile("adam", "mse")
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, callbacks=[cb],
        ...               verbose=0)
        >>> seen
        [0, 1, 2]
    """

    def __init__(self, on_epoch_begin: Callable | None = None,
                 on_epoch_end: Callable | None = None, on_batch_begin: Callable | None = None,
                 on_batch_end: Callable | None = None, on_train_begin: Callable | None = None,
                 on_train_end: Callable | None = None, **kwargs: Callable) -> None:
        super().__init__()
        unknown = sorted(k for k in kwargs if k not in _HOOKS)
        if unknown:
            raise ConfigError(f"LambdaCallback got unknown hook name(s) {unknown}. Expected "
                              f"names of Callback hooks: {', '.join(_HOOKS)}.")
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end, **kwargs)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise ConfigError(f"LambdaCallback expected `{name}` to be a function. "
                                  f"Received: {fn!r} of type {type(fn).__name__}.")
            # An instance attribute shadows the no-op method; Callback._implements sees it.
            setattr(self, name, fn)


__all__ = ["LambdaCallback"]
