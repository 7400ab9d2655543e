"""``savepoint.train.CheckpointManager``: numbered checkpoints in a directory, pruned and recorded.

The new checkpoint is committed first, then the ``checkpoint`` state file is replaced, and only
then are old checkpoints deleted, so a crash at any point leaves a valid latest checkpoint.
Pruning deletes only the files the bundle layout names exactly (``<prefix>.index`` and
``<prefix>.data-NNNNN-of-NNNNN``) and only inside the manager's directory; a state file naming
a checkpoint elsewhere is refused with ``FormatError`` when the manager is created.

Example:
    >>> import savepoint as keras, tempfile
    >>> from savepoint.saving.api.checkpoint import Checkpoint
    >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> manager = CheckpointManager(Checkpoint(model=model), tempfile.mkdtemp(), max_to_keep=2)
    >>> for _ in range(3): _ = manager.save()
    >>> [p.rsplit("-", 1)[1] for p in manager.checkpoints]
    ['2', '3']
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from savepoint.errors import ConfigError, FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import layout, state_file
from savepoint.saving.handlers.tf_checkpoint import delete_checkpoint_files


class CheckpointManager:
    """Keeps the ``max_to_keep`` newest checkpoints of ``checkpoint`` in ``directory``."""

    def __init__(self, checkpoint: Any, directory: str, max_to_keep: int | None = 5,
                 keep_checkpoint_every_n_hours: float | None = None,
                 checkpoint_name: str = "ckpt", step_counter: Any = None,
                 checkpoint_interval: int | None = None, init_fn: Callable | None = None):
        if max_to_keep is not None and max_to_keep <= 0:
            raise ConfigError(f"Expected max_to_keep to be a positive int or None. Received "
                              f"{max_to_keep!r}.")
        if checkpoint_interval is not None and step_counter is None:
            raise ConfigError("checkpoint_interval needs a step_counter to count steps. Pass "
                              "step_counter=<a Variable or optimizer.iterations>.")
        self._checkpoint, self._directory = checkpoint, os.fspath(directory)
        self._max_to_keep, self._keep_hours = max_to_keep, keep_checkpoint_every_n_hours
        self._name, self._step_counter = checkpoint_name, step_counter
        self._interval, self._init_fn = checkpoint_interval, init_fn
        self._last_saved_step: int | None = None
        self._maybe_delete: list[tuple[str, float]] = []
        self._last_preserved = time.time()
        self._recover_state()

    def _recover_state(self) -> None:
        state = state_file.read_state(self._directory) if storage.isdir(self._directory) else None
        if state is None:
            return
        stamps = list(state.all_model_checkpoint_timestamps) or [time.time()] * len(
            state.all_model_checkpoint_paths)
        for rel, stamp in zip(state.all_model_checkpoint_paths, stamps):
            # a URL is absolute too (TF writes full gs:// names into state files there)
            path = rel if os.path.isabs(rel) or "://" in rel else os.path.join(self._directory, rel)
            if storage.exists(layout.index_path(path)):
                self._maybe_delete.append((path, stamp))
        if state.last_preserved_timestamp is not None:
            self._last_preserved = state.last_preserved_timestamp

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoints(self) -> list[str]:
        """Prefixes of the kept checkpoints, oldest first."""
        return [path for path, _ in self._maybe_delete]

    @property
    def latest_checkpoint(self) -> str | None:
        return self._maybe_delete[-1][0] if self._maybe_delete else None

    @property
    def checkpoint(self) -> Any:
        return self._checkpoint

    def save(self, checkpoint_number: int | None = None, check_interval: bool = True,
             options: Any = None) -> str | None:
        """Write a new checkpoint, record it, prune old ones; returns its prefix (or ``None``
        when ``checkpoint_interval`` says it is too early)."""
        step = self._current_step()
        if self._interval and check_interval and self._last_saved_step is not None and \
                step - self._last_saved_step < self._interval:
            return None
        counter = getattr(self._checkpoint, "_save_counter", None)
        if counter is not None:
            counter.add_(1)
        if checkpoint_number is None:
            checkpoint_number = int(counter) if counter is not None else len(self._maybe_delete) + 1
            # A fresh process that did not restore would count from 1 again; never overwrite a
            # checkpoint the state file still lists (a crash mid-overwrite would cost it).
            newest = self._newest_number()
            if checkpoint_number <= newest:
                checkpoint_number = newest + 1
                if counter is not None:
                    try:
                        counter.fill_(checkpoint_number)
                    except (OverflowError, RuntimeError) as e:
                        counter.add_(-1)  # a refused save leaves the counter as it was
                        raise FormatError(
                            f"The checkpoint state file in {self._directory!r} lists checkpoint "
                            f"number {newest}, beyond what the save counter holds (int64). "
                            f"Expected numbers below 2**63. Fix: remove that entry (and its "
                            f"files), or pass checkpoint_number= to save().") from e
        prefix = os.path.join(self._directory, f"{self._name}-{int(checkpoint_number)}")
        stamp = time.time()
        if hasattr(self._checkpoint, "_save_to"):  # async-capable: bookkeeping after the commit
            self._checkpoint._save_to(prefix, options, then=lambda: self._record(prefix, stamp))
        else:
            self._checkpoint.write(prefix)
            self._record(prefix, stamp)
        self._last_saved_step = step
        return prefix

    def _newest_number(self) -> int:
        numbers = [p.rsplit("-", 1)[-1] for p, _ in self._maybe_delete]
        return max((int(n) for n in numbers if n.isdigit()), default=0)

    def _record(self, prefix: str, stamp: float) -> None:
        """After ``prefix`` is committed: list it, prune, replace the state file, delete."""
        before = list(self._maybe_delete)
        kept = [(p, t) for p, t in self._maybe_delete if p != prefix] + [(prefix, stamp)]
        doomed = self._sweep(kept)
        self._maybe_delete = kept  # one assignment: readers never see a half-pruned list
        try:
            self._write_state()
        except BaseException:
            # Unrecorded, the new checkpoint would never be pruned: take it back out.
            self._maybe_delete = before
            if all(p != prefix for p, _ in before):
                delete_checkpoint_files(prefix, self._directory)
            raise
        for path in doomed:
            delete_checkpoint_files(path, self._directory)

    def sync(self) -> None:
        """Wait until every async save is committed (and recorded); raise a background error."""
        sync = getattr(self._checkpoint, "sync", None)
        if sync is not None:
            sync()

    def _current_step(self) -> int:
        if self._step_counter is None:
            return 0
        value = getattr(self._step_counter, "value", self._step_counter)
        return int(value.item() if hasattr(value, "item") else value)

    def _sweep(self, kept: list[tuple[str, float]]) -> list[str]:
        if self._max_to_keep is None:
            return []
        doomed = []
        while len(kept) > self._max_to_keep:
            path, stamp = kept.pop(0)
            if self._keep_hours and stamp - self._last_preserved >= self._keep_hours * 3600:
                self._last_preserved = stamp
                continue
            doomed.append(path)
        return doomed

    def _write_state(self) -> None:
        paths = [p for p, _ in self._maybe_delete]
        state_file.write_state(self._directory, paths[-1], paths, [t for _, t in self._maybe_delete],
                               self._last_preserved)

    def restore_or_initialize(self) -> str | None:
        """Restore the latest checkpoint, or run ``init_fn`` when there is none."""
        self.sync()  # the latest committed checkpoint is known once pending saves are recorded
        if self.latest_checkpoint is not None:
            self._checkpoint.restore(self.latest_checkpoint)
            return self.latest_checkpoint
        if self._init_fn is not None:
            self._init_fn()
        return None
