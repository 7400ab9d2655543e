"""``BackupAndRestore``: back up the whole training state so a killed ``fit`` resumes exactly.

A backup is one TensorFlow checkpoint in ``<backup_dir>/chief`` (as tf-keras writes it, kept by
a ``CheckpointManager`` with ``max_to_keep=1``): the model and optimizer variables, plus a
``training_state`` node of named tensors:

- ``epoch``, ``step``: where to resume (``step`` batches of ``epoch`` are done);
- ``rng/...``: every global random generator (``savepoint.utils.rng``);
- ``layer_rng/...``: the own generator of each seeded random layer (``RandomFlip(seed=1)``);
- ``data/...``: the data position (the RNG state the epoch's shuffle was drawn from; batches a
  one-shot generator has yielded);
- ``metrics/<metric>/<state>``: the epoch's metric accumulators, so the resumed epoch's logs
  equal the uninterrupted run's.

Rerunning the same script resumes from the backup, mid-epoch when ``save_freq`` is a number of
batches; on CPU the final weights are bitwise identical to a run never interrupted. Exact resume
holds for arrays/tensors (``shuffle`` or not), for a ``DataLoader`` or ``Dataset`` whose sampler
draws from torch's global generator (the default), and for a Python generator that yields the
same batches on every run (it is replayed to its position, at an epoch boundary or mid-epoch).
A ``DataLoader`` built with its own ``generator=`` resumes at the right batch but its shuffle
order differs from the original run after a restart.

Example:
    >>> import savepoint as keras, numpy as np, tempfile
    >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    >>> model.compile("adam", "mse")
    >>> backup = BackupAndRestore(tempfile.mkdtemp(), save_freq=2)
    >>> _ = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=2, epochs=2,
    ...               callbacks=[backup], verbose=0)
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import numpy as np
import torch

from savepoint.callbacks.base import Callback
from savepoint.errors import ConfigError, FormatError
from savepoint.layers.variable import Variable
from savepoint.saving import storage
from savepoint.serialization import builtin
from savepoint.utils import rng

STATE_NODE = "training_state"


class _TensorTree:
    """A checkpoint node holding ``{"a/b": array}`` as nested nodes ``a`` -> ``b``."""

    def __init__(self, values: dict[str, np.ndarray]):
        self.values = values

    def _trackable_children(self) -> list[tuple[str, Any]]:
        groups: dict[str, dict[str, np.ndarray]] = {}
        leaves: list[tuple[str, Any]] = []
        for name, value in sorted(self.values.items()):
            head, _, rest = name.partition("/")
            if rest:
                groups.setdefault(head, {})[rest] = value
            else:
                tensor = torch.from_numpy(np.array(value, copy=True))
                leaves.append((head, Variable(tensor, name=head, path=head)))
        return leaves + [(head, _TensorTree(sub)) for head, sub in groups.items()]


class ResumePoint:
    """Where ``fit`` resumes: ``epoch``, ``step`` (batches done), the data position, and the
    RNG and metric states put back by :meth:`restore_state` just before the next batch."""

    def __init__(self, values: dict[str, np.ndarray], model: Any):
        self.epoch = int(values["epoch"])
        self.step = int(values["step"])
        self.data = _under(values, "data/")
        self._rng = _under(values, "rng/")
        self._layer_rng = _under(values, "layer_rng/")
        self._metrics = _under(values, "metrics/")
        self._model = model

    def restore_state(self) -> None:
        """Put back the random generators and the epoch's metric accumulators."""
        rng.restore(self._rng)
        rng.restore_layers(self._model, self._layer_rng)
        with torch.no_grad():
            for metric in self._model.metrics:
                for name, tensor in metric._states.items():
                    saved = self._metrics.get(f"{metric.name}/{name}")
                    if saved is not None:
                        tensor.copy_(torch.from_numpy(np.array(saved, copy=True)))


@builtin("callbacks", "backup_and_restore")
class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` and resume from it when ``fit`` reruns.

    Args:
        backup_dir: directory for the backup (a ``chief`` subdirectory holds the checkpoint).
        save_freq: ``"epoch"`` to back up at each epoch's end, or a number of batches.
        delete_checkpoint: delete the backup when ``fit`` finishes (not when it fails).
        save_before_preemption: on SIGTERM, back up at the end of the current batch and exit
            with status 143 (``128 + SIGTERM``), so a preempted job loses no batch.

    With a backup present, ``fit`` starts at the backed-up epoch and batch whatever
    ``initial_epoch`` says (as in Keras); with none, at ``initial_epoch``.

    Example:
        >>> cb = BackupAndRestore("/tmp/backup", save_freq=100)
        >>> cb.save_freq
        100
    """

    def __init__(self, backup_dir: str, save_freq: Any = "epoch", delete_checkpoint: bool = True,
                 save_before_preemption: bool = False):
        super().__init__()
        if not backup_dir:
            raise ConfigError("Empty `backup_dir` argument passed. Expected a directory path "
                              "for the backup, e.g. BackupAndRestore('/tmp/backup').")
        if save_freq != "epoch" and (not isinstance(save_freq, (int, np.integer)) or
                                     isinstance(save_freq, bool) or save_freq <= 0):
            raise ConfigError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or a "
                              f"positive integer number of batches.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.delete_checkpoint = delete_checkpoint
        self.save_before_preemption = save_before_preemption
        self._current_epoch = 0
        self._batches_count = 0
        self._manager = None
        self._state_node = _TensorTree({})
        self._preempted = False
        self._previous_handler: Any = None

    @property
    def directory(self) -> str:
        """Where the checkpoint lives: ``<backup_dir>/chief``."""
        return os.path.join(self.backup_dir, "chief")

    def get_config(self) -> dict:
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq,
                "delete_checkpoint": self.delete_checkpoint,
                "save_before_preemption": self.save_before_preemption}

    @classmethod
    def from_config(cls, config: dict) -> "BackupAndRestore":
        return cls(**config)

    def _implements(self, hook: str) -> bool:
        if hook == "on_train_batch_end":
            return self.save_freq != "epoch" or self.save_before_preemption
        return super()._implements(hook)

    # ----- hooks ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        from savepoint.saving.api.checkpoint import Checkpoint
        from savepoint.saving.api.checkpoint_manager import CheckpointManager
        self._batches_count = 0
        checkpoint = Checkpoint(model=self.model, **{STATE_NODE: self._state_node})
        self._manager = CheckpointManager(checkpoint, self.directory, max_to_keep=1)
        latest = self._manager.latest_checkpoint
        if latest is not None:
            self._restore(checkpoint, latest)
        if self.save_before_preemption:
            self._install_sigterm_handler()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches_count += 1
            if self._batches_count >= self.save_freq:
                self._batches_count = 0
                self._back_up(self._current_epoch, batch + 1)
        if self._preempted:
            self._back_up(self._current_epoch, batch + 1)
            self._uninstall_sigterm_handler()
            raise SystemExit(128 + signal.SIGTERM)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._back_up(epoch + 1, 0)

    def on_train_end(self, logs=None):
        self._uninstall_sigterm_handler()
        if self.delete_checkpoint:
            storage.remove_tree(self.directory)
            if storage.isdir(self.backup_dir) and not storage.listdir(self.backup_dir):
                storage.remove_tree(self.backup_dir)
        self._manager = None

    # ----- backup / restore -----------------------------------------------------------------
    def _back_up(self, epoch: int, step: int) -> None:
        values = {"epoch": np.asarray(epoch, np.int64), "step": np.asarray(step, np.int64)}
        values.update({f"rng/{k}": v for k, v in rng.capture().items()})
        values.update({f"layer_rng/{k}": v for k, v in rng.capture_layers(self.model).items()})
        position = getattr(getattr(self.model, "_train_data", None), "position_state", None)
        if position is not None:
            values.update({f"data/{k}": v for k, v in position().items()})
        for metric in self.model.metrics if step else []:  # a new epoch starts them at zero
            for name, tensor in metric._states.items():
                values[f"metrics/{metric.name}/{name}"] = tensor.detach().cpu().numpy().copy()
        self._state_node.values = values
        self._manager.save()

    def _restore(self, checkpoint: Any, path: str) -> None:
        values = _read_state(checkpoint, path)
        self._state_node.values = values  # same shapes as the file, so everything matches
        status = checkpoint.read(path)
        status.assert_existing_objects_matched()
        self.model._pending_resume = ResumePoint(values, self.model)

    def _install_sigterm_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        def handler(signum, frame):  # noqa: ARG001
            self._preempted = True
        self._previous_handler = signal.signal(signal.SIGTERM, handler)

    def _uninstall_sigterm_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None


def _read_state(checkpoint: Any, path: str) -> dict[str, np.ndarray]:
    """The ``training_state`` tensors of the backup at ``path``, checksums verified (read by
    object path through the public ``Checkpoint.read_values``, never by checkpoint key)."""
    values = checkpoint.read_values(path, STATE_NODE)
    missing = [k for k in ("epoch", "step") if k not in values]
    if missing:
        raise FormatError(f"Expected a BackupAndRestore checkpoint with {STATE_NODE}/epoch and "
                          f"{STATE_NODE}/step at {path!r}. Received one without {missing}. Fix: "
                          f"point backup_dir at a directory only BackupAndRestore writes to.")
    return values


def _under(values: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}


__all__ = ["BackupAndRestore", "ResumePoint"]
