"""``ModelCheckpoint``: save weights or whole models every epoch or every N batches, Keras style."""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from typing import Any

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError


class ModelCheckpoint(Callback):
    """Save the model (or its weights) during ``fit``.

    ``filepath`` may hold ``{epoch}``, ``{batch}`` and any logs key (``{val_loss:.2f}``).
    Beyond Keras, ``max_to_keep`` deletes all but the newest N files this callback wrote, and
    ``save_async=True`` (or ``options=CheckpointOptions(enable_async=True)``) snapshots the
    weights to host memory and writes them in the background; ``fit`` returns once every save is
    committed and raises a background failure at the next save or at its end.

    Example:
        >>> cb = ModelCheckpoint("training_1/cp.ckpt", save_weights_only=True, verbose=1)
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch", options: Any = None,
                 initial_value_threshold: float | None = None, max_to_keep: int | None = None,
                 save_async: bool = False, **kwargs: Any):
        super().__init__()
        kwargs.pop("period", None)
        if kwargs:
            raise ConfigError(f"ModelCheckpoint got unexpected keyword argument(s) {sorted(kwargs)}.")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ConfigError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq to be "
                              f"'epoch' or a positive integer number of batches.")
        if max_to_keep is not None and (not isinstance(max_to_keep, int) or max_to_keep <= 0):
            raise ConfigError(f"Expected max_to_keep to be a positive int or None. Received "
                              f"{max_to_keep!r}.")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq, self.options, self.max_to_keep = save_freq, options, max_to_keep
        self.monitor_op, self.best = _monitor(monitor, mode, initial_value_threshold)
        self.save_async = _check_async(self.filepath, save_weights_only, options, save_async)
        self._current_epoch = 0
        self._batches_since_save = 0
        self._written: list[str] = []

    def _implements(self, hook: str) -> bool:
        if hook == "on_train_batch_end":
            return self.save_freq != "epoch"
        return super()._implements(hook)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch: int, batch: int | None, logs: Any) -> None:
        logs = dict(logs or {})
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, "
                              f"skipping. Available logs keys: {sorted(logs)}.", stacklevel=2)
                return
            if not self.monitor_op(current, self.best):
                self._say(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            self._say(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        else:
            self._say(f"Epoch {epoch + 1}: saving model to {path}")
        self._write(path)

    def on_train_end(self, logs=None):
        if self.save_async:
            from savepoint.saving.api import wait_for_saves
            wait_for_saves(self.model)  # fit returns with every save committed

    def _write(self, path: str) -> None:
        from savepoint.saving import options as options_lib
        from savepoint.saving.api import model_api, weights_api
        options = self.options if options_lib.is_checkpoint_options(self.options) else None
        options = options_lib.resolve(options, self.save_async)
        doomed = self._remember(path)
        # Older files go only once the new one is committed (in the background when async).
        if self.save_weights_only:
            weights_api.save_weights(self.model, path, overwrite=True, options=options,
                                     then=lambda: _delete_all(doomed))
        elif options.enable_async:
            model_api.save_model(self.model, path, overwrite=True, options=options,
                                 then=lambda: _delete_all(doomed))
        else:  # Keras calls model.save, which a subclass may override
            self.model.save(path, overwrite=True)
            _delete_all(doomed)

    def _remember(self, path: str) -> list[str]:
        """Record ``path``; return the older saves ``max_to_keep`` says to delete once it is
        committed."""
        if path in self._written:
            self._written.remove(path)
        self._written.append(path)
        doomed = []
        while self.max_to_keep and len(self._written) > self.max_to_keep:
            doomed.append(self._written.pop(0))
        return doomed

    def _file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" not in self.filepath:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise ConfigError(
                f"Failed to format the ModelCheckpoint filepath {self.filepath!r}: key {e} is not "
                f"in the logs. Expected one of epoch, batch or {sorted(logs)}.") from None

    def _say(self, message: str) -> None:
        if self.verbose > 0:
            lead = "\n" if getattr(sys.stdout, "isatty", lambda: False)() else ""
            print(lead + message, flush=True)


def _monitor(monitor: str, mode: str, threshold: float | None):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"ModelCheckpoint mode {mode!r} is unknown, fallback to auto mode.",
                      stacklevel=3)
        mode = "auto"
    if mode == "auto":
        mode = "max" if "acc" in monitor or monitor.startswith("fmeasure") or \
            re.search("auc|precision|recall", monitor) else "min"
    if mode == "max":
        return (lambda a, b: a > b), (threshold if threshold is not None else -math.inf)
    return (lambda a, b: a < b), (threshold if threshold is not None else math.inf)


def _check_async(filepath: str, save_weights_only: bool, options: Any, save_async: bool) -> bool:
    """Whether saves run in the background (every format can)."""
    from savepoint.saving import options as options_lib
    if options_lib.is_checkpoint_options(options):
        save_async = options_lib.resolve(options, save_async).enable_async
    elif not isinstance(save_async, bool):
        raise ConfigError(f"Expected save_async to be a bool. Received {save_async!r}.")
    return save_async


def _delete_all(paths: list[str]) -> None:
    for path in paths:
        _delete_saved(path)


def _delete_saved(path: str) -> None:
    """Delete one older save as its format says: a checkpoint prefix loses exactly its
    ``.index`` and ``.data-NNNNN-of-NNNNN`` files (never a neighbour such as
    ``<prefix>.data-notes.txt``)."""
    from savepoint.saving.api import delete_save
    delete_save(path)
