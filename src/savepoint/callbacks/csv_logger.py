"""``CSVLogger``: one CSV row of epoch logs per epoch, flushed as it is written (tf.keras rules)."""

from __future__ import annotations

import collections.abc
import csv
import os
from typing import Any

import numpy as np

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError
from savepoint.serialization import builtin


@builtin("callbacks", "csv_logger")
class CSVLogger(Callback):
    """Write ``epoch`` and the sorted log keys of every epoch to ``filename``.

    The columns are fixed by the first epoch's logs; when that epoch has no ``val_`` metric, a
    ``val_`` column is added for each key (validation may run on later epochs only). A value an
    epoch lacks is written as ``NA``. With ``append=True`` rows are added to an existing file
    and the header is written only if the file is empty. Lines end with ``\\r\\n`` (Python's
    ``csv`` "excel" dialect, as in Keras).

    Example:
        >>> import numpy as np, os, tempfile, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile("adam", "mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2,
        ...               callbacks=[CSVLogger(path)], verbose=0)
        >>> open(path, newline="").read().splitlines()
        ['epoch,loss,val_loss', '0,0.0,NA', '1,0.0,NA']
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise ConfigError(f"CSVLogger expected `filename` to be a path. Received: "
                              f"{filename!r} of type {type(filename).__name__}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ConfigError(f"CSVLogger expected `separator` to be a single character. "
                              f"Received: separator={separator!r}. Use e.g. separator=';'.")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self.writer: csv.DictWriter | None = None
        self.csv_file: Any = None
        self.append_header = True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, "r", newline="") as f:
                self.append_header = not f.readline()
        self._close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("SavepointDialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close()
        self.writer = None

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()

    def get_config(self) -> dict:
        """The constructor arguments (JSON-ready)."""
        return {"filename": self.filename, "separator": self.sep, "append": self.append}

    @classmethod
    def from_config(cls, config: dict) -> "CSVLogger":
        """A new logger from ``get_config()``'s dict."""
        return cls(**config)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f"[{', '.join(map(str, value))}]"
    return value


__all__ = ["CSVLogger"]
