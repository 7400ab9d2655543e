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

import torch

from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable
from savepoint.saving.engine import async_saver
from savepoint.saving.engine import checkpoint_io
from savepoint.saving import options as options_lib
from savepoint.saving.formats.tf_checkpoint import state_file


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
