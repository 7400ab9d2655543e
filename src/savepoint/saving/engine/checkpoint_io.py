"""Saving and restoring a trackable tree as a TensorFlow checkpoint, all-or-nothing.

Saving is two phases (DESIGN.md 4, "bytes move once"): ``snapshot`` takes every variable to host
memory in key order (views of CPU tensors, or copies into reusable buffers for an async save) plus
the ``_CHECKPOINTABLE_OBJECT_GRAPH`` entry; ``persist`` writes that as a bundle (fsync, atomic
commit). ``save_tree`` is both in a row; ``async_saver`` runs ``persist`` in the background.
``restore_tree`` reads the graph, matches it against our objects, validates every shape and dtype
and checksum, and only then assigns; optimizer slots that do not exist yet are handed to the
optimizer to apply when it builds them.

Example:
    >>> import torch, tempfile, os
    >>> from savepoint.layers.variable import Variable
    >>> from savepoint.trackable import TrackableList
    >>> v = Variable(torch.ones(2), name="w", path="w")
    >>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt")
    >>> save_tree(TrackableList([v]), prefix)
    >>> v.assign(torch.zeros(2)); status = restore_tree(TrackableList([v]), prefix)
    >>> v.numpy().tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import (CheckpointNotFoundError, ConfigError, DTypeError, FormatError,
                              ShapeError)
from savepoint.layers.variable import Variable
from savepoint.saving.engine import frozen
from savepoint.saving.mapping import object_graph as graph_lib
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import rewrite
from savepoint.saving.formats.tf_checkpoint import object_graph as og
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array

OBJECT_GRAPH_KEY = og.OBJECT_GRAPH_KEY


class WeightsRoot:
    """The root ``save_weights`` writes: the model, plus the ``root`` self-edge tf.keras adds.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(1,))])
        >>> WeightsRoot(m)._trackable_children()[-1][0]
        'root'
    """

    def __init__(self, model: Any):
        self.model = model
        self._trackable_identity = model

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return self.model._trackable_children() + [("root", self.model)]


def snapshot(root: Any, copy: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None
             ) -> dict[str, Any]:
    """Every tensor of the tree as host arrays keyed as TensorFlow keys them, plus the graph.

    The order is TensorFlow's data-file order: variables in object-graph node order, the graph
    last (the index is sorted by key either way, but its offsets, hence its size, follow this).
    Without ``copy``, CPU tensors are viewed, not copied (the sync save streams them straight to
    the file); ``copy`` maps the live tensors to host copies (an async save's reusable buffers)
    and the graph is left for ``persist`` to encode, off the training thread."""
    collected = graph_lib.collect(root)
    values = [frozen.value(var) for _, var in collected.keyed_variables]
    if copy is not None:
        values = copy(values)
    tensors: dict[str, Any] = {key: host_array(value)
                               for (key, _), value in zip(collected.keyed_variables, values)}
    tensors[OBJECT_GRAPH_KEY] = collected.graph if copy is not None else \
        og.encode_object_graph(collected.graph)
    return tensors


def persist(tensors: dict[str, Any], prefix: str, state_dir: str | None = None) -> None:
    """Write a ``snapshot`` as a bundle at ``prefix`` (data, index; each fsynced and renamed).

    With ``state_dir``, the directory's ``checkpoint`` state file is pointed at ``prefix`` last.
    Rewriting an existing prefix (the tutorial's ``cp.ckpt`` every epoch) goes through a staged
    copy (``rewrite``), so that neither the prefix nor the state file ever names a torn bundle."""
    graph = tensors.get(OBJECT_GRAPH_KEY)
    if isinstance(graph, og.TrackableObjectGraph):  # same place in the order, encoded
        tensors = {**tensors, OBJECT_GRAPH_KEY: og.encode_object_graph(graph)}
    rewrite.save_bundle(os.fspath(prefix), tensors, state_dir)


def host_array(t: torch.Tensor) -> Any:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype == torch.bfloat16:
        return BFloat16Array(t.view(torch.int16).numpy().view(np.uint16))
    return t.numpy()


def save_tree(root: Any, prefix: str, state_dir: str | None = None) -> None:
    """Write the tree's variables and object graph as a TensorFlow checkpoint at ``prefix``
    (and, with ``state_dir``, make it the directory's latest checkpoint)."""
    from savepoint.saving.engine import async_saver  # it imports this module
    async_saver.wait_all(raise_errors=False)  # an older async save must not land after this one
    persist(snapshot(root), prefix, state_dir)


class LoadStatus:
    """What a restore matched, with TensorFlow's assertions.

    Example:
        >>> LoadStatus([], [], []).assert_consumed() is not None
        True
    """

    def __init__(self, unused_keys: list[str], unmatched: list[Variable],
                 deferred: list[tuple[Any, int, str]], prefix: str = ""):
        self.unused_keys, self.unmatched, self._deferred = unused_keys, unmatched, deferred
        self.prefix = prefix
        self._silenced = not unused_keys

    @property
    def deferred(self) -> list[str]:
        """Keys of optimizer slots still waiting for their optimizer to build."""
        return [key for opt, pos, key in self._deferred if pos in getattr(opt, "_pending", {})]

    def assert_consumed(self) -> "LoadStatus":
        """Every value in the checkpoint was used and every variable restored."""
        self.assert_existing_objects_matched()
        pending = self.unused_keys + self.deferred
        if pending:
            raise AssertionError(
                f"Unresolved object in checkpoint {self.prefix!r}: {len(pending)} value(s) not "
                f"used yet, e.g. {pending[:3]}. Deferred optimizer slots are applied when the "
                f"optimizer builds (first training step); call expect_partial() to silence.")
        return self

    def assert_existing_objects_matched(self) -> "LoadStatus":
        """Every variable of ours found its value in the checkpoint."""
        if self.unmatched:
            names = [v.path for v in self.unmatched]
            raise AssertionError(
                f"Some objects had attributes which were not restored from {self.prefix!r}: "
                f"{names[:5]}{' ...' if len(names) > 5 else ''}. The checkpoint does not match "
                f"this model's structure.")
        return self

    def assert_nontrivial_match(self) -> "LoadStatus":
        return self

    def expect_partial(self) -> "LoadStatus":
        """Silence the warning about checkpoint values this model did not use."""
        self._silenced = True
        return self

    def __del__(self) -> None:
        if not self._silenced:
            warnings.warn(
                f"Checkpoint {self.prefix!r}: {len(self.unused_keys)} value(s) were not used by "
                f"the restored objects, e.g. {self.unused_keys[:3]}. Call "
                f"status.expect_partial() if this is intended.", stacklevel=2)


def restore_tree(root: Any, prefix: str, where: str = "model",
                 required: list[Variable] | None = None) -> LoadStatus:
    """Validate everything in the checkpoint at ``prefix`` against ``root``, then assign.

    ``required`` variables must all find a value (``load_weights`` passes the model's weights:
    a checkpoint of another architecture is refused before anything is assigned)."""
    return rewrite.read_whole(os.fspath(prefix),
                              lambda path: _restore_from(root, path, where, required))


def _restore_from(root: Any, prefix: str, where: str,
                  required: list[Variable] | None) -> LoadStatus:
    """``restore_tree`` of exactly ``prefix``; raises before assigning anything if it is bad."""
    with BundleReader(prefix) as reader:
        if OBJECT_GRAPH_KEY not in reader:
            raise FormatError(
                f"Expected an object-based (TF2) checkpoint with a {OBJECT_GRAPH_KEY} entry at "
                f"{prefix!r}. Received a checkpoint without one (a TF1 name-based checkpoint?). "
                f"Fix: re-save it with TensorFlow 2 (tf.train.Checkpoint or model.save_weights).")
        graph = og.decode_object_graph(reader.get_tensor(OBJECT_GRAPH_KEY))
        matched = graph_lib.match(root, graph)
        _check_required(matched, required or [], prefix, reader.keys())
        _validate(reader, matched.pairs)
        direct, staged = _plan(reader, matched.pairs)
        staged_values = [reader.get_tensor(key) for _, key in staged]  # checksums verified
        deferred = _collect_deferred(graph, matched, reader)
        deferred_values = _read_deferred(reader, deferred)
        used = {key for _, key in matched.pairs} | {key for _, _, key in deferred}
        unused = [k for k in reader.keys() if k != OBJECT_GRAPH_KEY and k not in used]
        # verifies every remaining checksum before writing any variable, then copies once
        reader.read_many_into([(key, view) for _, key, view in direct])
    _assign(staged, staged_values)
    for var, _, _ in direct:
        torch.autograd.graph.increment_version(var.value)  # what copy_ would do: marks the write
        _after_assign(var)
    for optimizer, slot_values in deferred_values:
        optimizer._defer_restore(slot_values)
    return LoadStatus(unused, matched.unmatched_variables, deferred, prefix)


def _validate(reader: BundleReader, pairs: list[tuple[Variable, str]]) -> None:
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    for var, key in pairs:
        shape = tuple(shapes[key])
        if shape != var.shape:
            owner, _, name = var.path.rpartition("/")
            raise ShapeError(
                f"Shape mismatch for layer \"{owner}\" variable \"{name}\": checkpoint has "
                f"{shape}, model has {var.shape} (checkpoint key {key!r}). Fix: build the model "
                f"with the architecture the checkpoint was saved from.")
        if not _dtype_compatible(dtypes[key], var.dtype):
            raise DTypeError(
                f"Dtype mismatch for variable '{var.path}': checkpoint has {dtypes[key]}, model "
                f"has {var.dtype} (checkpoint key {key!r}).")


def _check_required(matched: graph_lib.Match, required: list[Variable], prefix: str,
                    keys: list[str]) -> None:
    unmatched = {graph_lib.node_key(v) for v in matched.unmatched_variables}
    missing = [v.path for v in required if graph_lib.node_key(v) in unmatched]  # model order
    if not missing:
        return
    used = {key for _, key in matched.pairs}
    spare = [k for k in keys if k != OBJECT_GRAPH_KEY and k not in used
             and not k.startswith("optimizer/")]
    holds = f" It holds values this model has no place for, e.g. {spare[:3]}." if spare else ""
    raise ConfigError(
        f"Checkpoint {prefix!r} does not match the model: no value for {len(missing)} of its "
        f"variables {missing[:6]}{' ...' if len(missing) > 6 else ''}.{holds} It was saved from "
        f"another architecture; nothing was loaded. Fix: build the model the checkpoint was "
        f"saved from, or restore what matches with "
        f"savepoint.train.Checkpoint(model).read(path).expect_partial().")


def _dtype_compatible(ckpt: str, ours: str) -> bool:
    return ckpt == ours or {ckpt, ours} <= {"int32", "int64"}


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, BFloat16Array):
        return value
    return np.asarray(value)


def _plan(reader: BundleReader, pairs: list[tuple[Variable, str]]
          ) -> tuple[list[tuple[Variable, str, np.ndarray]], list[tuple[Variable, str]]]:
    """Split pairs into those whose bytes go straight from the file into the variable's memory
    (CPU, contiguous, same dtype: with a numpy view of it) and those staged through a copy."""
    dtypes = reader.get_variable_to_dtype_map()
    direct, staged = [], []
    for var, key in pairs:
        view = _writable_view(var.value) if dtypes[key] == var.dtype else None
        if view is None:
            staged.append((var, key))
        else:
            direct.append((var, key, view))
    return direct, staged


def _writable_view(t: torch.Tensor) -> np.ndarray | None:
    if t.device.type != "cpu" or not t.is_contiguous() or t.is_conj() or t.is_neg():
        return None
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    try:
        return t.numpy()
    except (TypeError, RuntimeError):
        return None


def _assign(pairs: list[tuple[Variable, str]], values: list[Any]) -> None:
    """Copy staged values (already verified host copies) into their variables."""
    with torch.no_grad():
        for (var, _), value in zip(pairs, values):
            target = var.value
            if isinstance(value, BFloat16Array):
                src = torch.from_numpy(value.bits.view(np.int16)).view(torch.bfloat16)
            else:
                src = torch.from_numpy(np.asarray(value))
            target.copy_(src.to(device=target.device, dtype=target.dtype).reshape(target.shape))
            _after_assign(var)


def _after_assign(var: Variable) -> None:
    hook = getattr(var, "_on_assign", None)
    if hook is not None:
        hook(var.value)


def _collect_deferred(graph, matched, reader) -> list[tuple[Any, int, str]]:
    """Optimizer ``_variables`` entries the checkpoint has but our unbuilt optimizer lacks."""
    found = []
    for node_id, obj in matched.matched_objects.items():
        if not hasattr(obj, "_defer_restore"):
            continue
        refs = {r.local_name: r.node_id for r in graph.nodes[node_id].children}
        list_id = refs.get("_variables")
        if list_id is None:
            continue
        for ref in graph.nodes[list_id].children:
            if ref.node_id in matched.matched_nodes or not ref.local_name.isdigit():
                continue
            for attr in graph.nodes[ref.node_id].attributes:
                found.append((obj, int(ref.local_name), attr.checkpoint_key))
    return [(obj, pos, key) for obj, pos, key in found if key in reader]


def _read_deferred(reader: BundleReader, deferred: list[tuple[Any, int, str]]) -> list:
    """Read and check the deferred slot values now, so a bad file fails before any assignment."""
    grouped: dict[int, tuple[Any, dict[int, np.ndarray]]] = {}
    for optimizer, position, key in deferred:
        grouped.setdefault(id(optimizer), (optimizer, {}))[1][position] = \
            _as_numpy(reader.get_tensor(key))
    for optimizer, values in grouped.values():
        optimizer._check_deferred(values)
    return list(grouped.values())


def open_whole(prefix: str) -> BundleReader:
    """A reader of the checkpoint at ``prefix`` whose every checksum was verified, or of the
    staged copy standing in for it while a save rewrites it (never a torn pair).

    Example:
        >>> open_whole("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    return rewrite.read_whole(os.fspath(prefix), _open_checked)


def variable_shapes(prefix: str) -> dict[str, list[int]]:
    """Tensor name -> shape of the checkpoint at ``prefix``, from its index alone (one file, so
    always whole: a rewrite replaces it in one rename).

    Example:
        >>> variable_shapes("/nonexistent/cp.ckpt")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    def shapes(path: str) -> dict[str, list[int]]:
        with BundleReader(path) as reader:
            return reader.get_variable_to_shape_map()
    return rewrite.read_whole(os.fspath(prefix), shapes)


def _open_checked(prefix: str) -> BundleReader:
    reader = BundleReader(prefix)
    try:
        reader.check_all()
    except BaseException:
        reader.close()
        raise
    return reader


def require_checkpoint(prefix: str) -> None:
    """Raise ``CheckpointNotFoundError`` unless ``prefix.index`` exists (or, for a prefix being
    rewritten, the index of the staged copy that stands in for it)."""
    prefix = os.fspath(prefix)
    if not storage.exists(f"{prefix}.index") and \
            not any(storage.exists(f"{p}.index") for p in rewrite.candidates(prefix)):
        raise CheckpointNotFoundError(
            f"Expected a checkpoint at {prefix!r} ({prefix}.index). Received a path that names "
            f"no checkpoint. Fix: check the path, or find the newest one with "
            f"savepoint.train.latest_checkpoint(directory).")
