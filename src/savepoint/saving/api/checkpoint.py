"""``savepoint.train.Checkpoint``: TensorFlow's object-based checkpoint of any trackable objects.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> ckpt = Checkpoint(model=model)
    >>> path = ckpt.save(os.path.join(tempfile.mkdtemp(), "ckpt"))
    >>> os.path.basename(path)
    'ckpt-1'
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable
from savepoint.saving.engine import async_saver
from savepoint.saving.engine import checkpoint_io
from savepoint.saving import options as options_lib
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import state_file
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader
from savepoint.saving.mapping.object_graph import ATTRIBUTE


class TorchModuleNode:
    """Lets a plain ``torch.nn.Module`` sit in a checkpoint: parameters and buffers by name."""

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self._trackable_identity = module

    def _trackable_children(self) -> list[tuple[str, Any]]:
        children: list[tuple[str, Any]] = []
        for name, tensor in list(self.module._parameters.items()) + list(self.module._buffers.items()):
            if tensor is not None:
                children.append((name, Variable(tensor, name=name, path=name)))
        for name, sub in self.module._modules.items():
            if sub is not None:
                children.append((name, trackable(sub)))
        return children


def trackable(obj: Any) -> Any:
    """``obj`` as a checkpoint node (savepoint objects are already nodes)."""
    if isinstance(obj, (Variable,)) or hasattr(obj, "_trackable_children"):
        return obj
    if isinstance(obj, torch.nn.Module):
        return TorchModuleNode(obj)
    if isinstance(obj, torch.Tensor):
        return Variable(obj, name="tensor", path="tensor")
    raise ConfigError(
        f"Checkpoint expected trackable objects (savepoint models, layers, optimizers, "
        f"Variables, torch modules or tensors). Received {type(obj).__name__}: {obj!r}.")


class Checkpoint:
    """Groups objects and saves/restores them as one TensorFlow checkpoint.

    ``save(prefix)`` numbers checkpoints ``prefix-1``, ``prefix-2`` ... and updates the
    directory's ``checkpoint`` state file; ``write`` writes exactly ``prefix``; ``restore`` and
    ``read`` load by object structure and return a status with ``assert_consumed()``.
    """

    def __init__(self, root: Any = None, **objects: Any):
        if root is not None:
            objects = {**objects}
        self._root = trackable(root) if root is not None else None
        self._objects = {name: trackable(obj) for name, obj in sorted(objects.items())}
        self._save_counter = torch.zeros((), dtype=torch.int64)
        self._counter_var = Variable(self._save_counter, name="save_counter", path="save_counter")
        if self._root is not None:
            self._trackable_identity = self._root

    @property
    def save_counter(self) -> Variable:
        """How many times ``save`` has run (restored with the checkpoint)."""
        return self._counter_var

    def __getattr__(self, name: str) -> Any:
        objects = self.__dict__.get("_objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(name)

    def _trackable_children(self) -> list[tuple[str, Any]]:
        children = list(self._root._trackable_children()) if self._root is not None else []
        children += list(self._objects.items())
        children.append(("save_counter", self._counter_var))
        return children

    def write(self, file_prefix: str, options: Any = None) -> str:
        """Write a checkpoint at exactly ``file_prefix`` (no numbering, no state file).

        ``options=CheckpointOptions(enable_async=True)`` returns once the state is snapshotted;
        the files are committed in the background (``sync()`` waits for them)."""
        self._save_to(os.fspath(file_prefix), options)
        return os.fspath(file_prefix)

    def _save_to(self, prefix: str, options: Any = None,
                 then: Callable[[], None] | None = None) -> None:
        """Write ``prefix``, then run ``then`` (both in the background for async options)."""
        opts = options_lib.resolve(options)

        def committed() -> None:
            opts.run_write_callbacks(prefix)
            if then is not None:
                then()
        if opts.enable_async:
            async_saver.saver_for(self, opts).save_tree(self, prefix, then=committed)
            return
        checkpoint_io.save_tree(self, prefix)
        committed()

    def save(self, file_prefix: str, options: Any = None) -> str:
        """Write ``file_prefix-N`` (N = the new save counter) and record it in the state file
        (for an async save, once the files are committed)."""
        self._save_counter.add_(1)
        path = f"{os.fspath(file_prefix)}-{int(self._save_counter)}"
        try:
            self._save_to(path, options, then=lambda: state_file.write_state(
                os.path.dirname(path) or ".", path, [path]))
        except BaseException:
            self._save_counter.sub_(1)
            raise
        return path

    def sync(self) -> None:
        """Wait until every async save of this checkpoint is committed; raise a background
        error (``AsyncSaveError``) if one failed."""
        async_saver.wait_for(self)

    def read(self, save_path: str, options: Any = None) -> checkpoint_io.LoadStatus:
        """Restore from ``save_path`` (a prefix) and return the load status."""
        async_saver.wait_all(raise_errors=False)  # pending async saves land first
        checkpoint_io.require_checkpoint(os.fspath(save_path))
        return checkpoint_io.restore_tree(self, os.fspath(save_path))

    def restore(self, save_path: str | None, options: Any = None) -> checkpoint_io.LoadStatus:
        """Like ``read``; ``None`` (no checkpoint yet) restores nothing, as in TensorFlow."""
        if save_path is None:
            return InitializationOnlyStatus()
        return self.read(save_path)

    def read_values(self, save_path: str, node: str) -> dict[str, np.ndarray]:
        """The saved values under this checkpoint's object ``node`` in the checkpoint at
        ``save_path``, keyed by their object path below ``node`` (``{"epoch": ..., "rng/numpy":
        ...}``; a node that is itself a variable under ``""``), every checksum verified and
        nothing assigned. Callers name objects, as ``read`` does, never TensorFlow's checkpoint
        keys; a node the file lacks gives ``{}``.

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> ckpt = Checkpoint(model=model)
            >>> path = ckpt.write(os.path.join(tempfile.mkdtemp(), "ckpt"))
            >>> {name: value.shape for name, value in ckpt.read_values(path, "model").items()}
            {'layer_with_weights-0/bias': (2,), 'layer_with_weights-0/kernel': (3, 2)}
        """
        names = [name for name, _ in self._trackable_children()]
        if node not in names:
            raise ConfigError(f"Expected `node` to name an object of this Checkpoint, one of "
                              f"{sorted(names)}. Received {node!r}. Fix: pass the keyword the "
                              f"object was given to Checkpoint(...).")
        async_saver.wait_all(raise_errors=False)  # pending async saves land first, as in read
        save_path = os.fspath(save_path)
        checkpoint_io.require_checkpoint(save_path)
        suffix = f"/.ATTRIBUTES/{ATTRIBUTE}"
        with checkpoint_io.open_whole(save_path) as reader:
            return {key[len(node) + 1:-len(suffix)]: np.array(reader.get_tensor(key), copy=True)
                    for key in reader.keys()
                    if key.endswith(suffix) and (key == node + suffix or
                                                 key.startswith(node + "/"))}


class InitializationOnlyStatus(checkpoint_io.LoadStatus):
    """What ``restore(None)`` returns: nothing was restored, so the assertions fail, as in
    TensorFlow.

    Example:
        >>> InitializationOnlyStatus().expect_partial() is not None
        True
    """

    def __init__(self) -> None:
        super().__init__([], [], [], "")

    def assert_consumed(self) -> "InitializationOnlyStatus":
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being "
                             "restored.")

    assert_existing_objects_matched = assert_consumed


# ----- reading checkpoints without a model (savepoint.train's tf.train.X readers) ---------------
latest_checkpoint = state_file.latest_checkpoint
get_checkpoint_state = state_file.get_checkpoint_state


def load_checkpoint(ckpt_dir_or_file: str) -> BundleReader:
    """A reader of a checkpoint prefix, or of the latest checkpoint in a directory.

    The reader has ``get_tensor(name)``, ``get_variable_to_shape_map()``,
    ``get_variable_to_dtype_map()`` and ``has_tensor(name)``; every read verifies its checksum.

    Example:
        >>> import tempfile, os, torch
        >>> path = Checkpoint(w=torch.zeros(2)).save(os.path.join(tempfile.mkdtemp(), "ckpt"))
        >>> load_checkpoint(os.path.dirname(path)).get_tensor("w/.ATTRIBUTES/VARIABLE_VALUE")
        array([0., 0.], dtype=float32)
    """
    path = _resolve(ckpt_dir_or_file)
    checkpoint_io.require_checkpoint(path)
    return checkpoint_io.open_whole(path)


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list[int]]]:
    """``[(name, shape), ...]`` of every tensor in the checkpoint, sorted by name.

    Example:
        >>> import tempfile, os, torch
        >>> path = Checkpoint(w=torch.zeros(2)).write(os.path.join(tempfile.mkdtemp(), "ckpt"))
        >>> list_variables(path)[-1]
        ('w/.ATTRIBUTES/VARIABLE_VALUE', [2])
    """
    path = _resolve(ckpt_dir_or_file)
    checkpoint_io.require_checkpoint(path)
    return sorted(checkpoint_io.variable_shapes(path).items())


def _resolve(path: str) -> str:
    path = os.fspath(path)
    if storage.isdir(path) and not storage.exists(path + ".index") and \
            storage.exists(os.path.join(path, "checkpoint")):  # storage: URLs too
        return state_file.resolve_latest(path)  # a damaged or dangling state file raises
    return path
