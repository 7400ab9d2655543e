"""``TerminateOnNaN``: stop training at the first batch whose loss is NaN or infinite."""

from __future__ import annotations

import math

from savepoint.callbacks.base import Callback
from savepoint.serialization import builtin


@builtin("callbacks", "terminate_on_nan")
class TerminateOnNaN(Callback):
    """Set ``model.stop_training`` when a batch's ``loss`` is NaN or infinite.

    It reads the loss after every batch (one host sync per step), so add it only when needed.

    Example:
        >>> import numpy as np, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile("adam", "mse")
        >>> x = np.full((8, 2), np.nan, dtype="float32")
        >>> h = model.fit(x, np.zeros((8, 1)), batch_size=2, epochs=3,
        ...               callbacks=[TerminateOnNaN()], verbose=0)
        Batch 0: Invalid loss, terminating training
        >>> len(h.history["loss"])  # the epoch still ends, with its (NaN) logs
        1
    """

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(float(loss)) or math.isinf(float(loss))):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True

    def get_config(self) -> dict:
        """No arguments: an empty config."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "TerminateOnNaN":
        """A new callback from ``get_config()``'s dict."""
        return cls(**config)


__all__ = ["TerminateOnNaN"]
