"""Reading the SavedModels tf.keras 2 writes: ``load_model(dir)`` and ``verify(dir)``, without TF.

A SavedModel directory holds ``saved_model.pb`` (graphs and signatures, which savepoint never
runs), ``keras_metadata.pb`` (per-object JSON, see ``formats.saved_model.keras_metadata``) and
``variables/variables.{index,data-*}`` (a TF2 object-based tensor bundle). Loading:

1. ``saved_model.pb`` is parsed (``formats.saved_model.saved_model_pb``); without
   ``keras_metadata.pb`` (a plain ``tf.Module``, a TF Hub export) a ``FormatError`` lists its
   signatures instead of returning a model that cannot be called. (TF 2.4 and older wrote no
   ``keras_metadata.pb``: the root's Keras JSON is read from ``saved_model.pb`` instead.)
2. The root node's JSON gives the architecture (``class_name`` + ``config``: tf.keras 2's
   dialect, the same as a ``.h5`` ``model_config``) and ``training_config``; the model is rebuilt
   only from built-ins, registrations and ``custom_objects`` (a subclassed model is then built
   for the recorded ``build_input_shape``), and compiled from the latter. An adapted
   StringLookup/IntegerLookup/TextVectorization (``vocabulary: null`` in the config) gets its
   vocabulary from the constants of its table initializer (``formats.saved_model.
   lookup_tables``); tf.keras counts such a layer as one with weights when it numbers
   ``layer_with_weights-N``, and so does the restore.
3. The variables are restored by walking the bundle's object graph by child name
   (``engine.checkpoint_io.restore_tree``), every shape, dtype and checksum checked before any
   value is assigned; the TF2 optimizer layout (``optimizer/_iterations``,
   ``optimizer/_variables/N``) restores as a checkpoint does, the legacy optimizer_v2 layout
   (``optimizer/iter`` and ``<variable>/.OPTIMIZER_SLOT/optimizer/<slot>``) by slot name.

``verify`` also checks ``saved_model.pb`` and ``variables.index`` against ``fingerprint.pb``.
``present`` claims directories with ``saved_model.pb`` and no ``saved_model.json`` (savepoint's
own model directory, whose ``model_directory`` handler reads it, may hold a SavedModel too).
Writing is the model directory's business: this format's ``save`` refuses.

Example:
    >>> import tempfile
    >>> present(tempfile.mkdtemp())
    False
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from savepoint.errors import ConfigError, FormatError
from savepoint.saving import registry, storage
from savepoint.saving.engine import whole_model
from savepoint.saving.formats.saved_model import (fingerprint_pb, keras_metadata, lookup_tables,
                                                  saved_model_pb)
from savepoint.saving.formats.tf_checkpoint import object_graph as og
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader
from savepoint.saving.handlers import verification
from savepoint.saving.handlers.model_dir import META_FILE, VARIABLES, _WithoutOptimizer
from savepoint.saving.mapping.dialects import keras2

FORMAT = "tf_saved_model"
_LEGACY_ITER = "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"
# optimizer_v2's slot names where the TF2 optimizers (and savepoint's) renamed them
_LEGACY_SLOTS = {"RMSprop": {"rms": "velocity", "mg": "average_gradient"},
                 "Adadelta": {"accum_grad": "accumulated_grad",
                              "accum_var": "accumulated_delta_var"},
                 "Adamax": {"v": "u"}}


# ----- load ---------------------------------------------------------------------------------
def load(path: str, custom_objects: dict | None = None, compile: bool = True,
         safe_mode: bool = True) -> Any:
    """Load the Keras model of a SavedModel written by tf.keras 2 (see the module docstring).

    Example:
        >>> load("/nonexistent/saved_model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Expected a TensorFlow SavedModel directory at ...
    """
    path = os.fspath(path)
    where, meta = _read_metadata(path)
    adapted = _fill_graph_vocabularies(meta["config"], path, where)
    model_config = keras2.model_from_keras2({"class_name": meta.get("class_name"),
                                             "config": meta["config"]})
    training = meta.get("training_config")
    compiled = compile and isinstance(training, dict)
    native_training = keras2.training_from_keras2(training) if compiled else None
    with whole_model.loading_scope(safe_mode, custom_objects):
        model = whole_model.rebuild(model_config, custom_objects, where, native_training,
                                    _subclassed_build_shape(meta))
    _restore(model, path, compiled, adapted)
    if compile and not compiled:
        whole_model.warn_not_compiled()
    return model


_LOOKUPS = ("TextVectorization", "StringLookup", "IntegerLookup")


def _adapted_lookups(config: Any) -> list[tuple[str, dict]]:
    """``(class name, config)`` of every lookup layer whose SavedModel config says
    ``vocabulary: null`` with a ``vocabulary_size``: it was adapted."""
    found, stack = [], [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            inner = item.get("config")
            if item.get("class_name") in _LOOKUPS and isinstance(inner, dict) \
                    and inner.get("vocabulary") is None and inner.get("vocabulary_size"):
                found.append((item["class_name"], inner))
            stack.extend(item.values())
    return found


def _fill_graph_vocabularies(config: Any, path: str, where: str) -> set[str]:
    """An adapted lookup layer's vocabulary, which tf.keras keeps in a table initializer of the
    graph (``formats.saved_model.lookup_tables``), put back into its config; return the names
    of those layers."""
    adapted = _adapted_lookups(config)
    if not adapted:
        return set()
    meta_path = os.path.join(path, keras_metadata.FILE_NAME)
    node_ids: dict[tuple[str, str], list[int]] = {}
    for node in keras_metadata.read_keras_metadata(meta_path) \
            if storage.exists(meta_path) else []:
        if node.identifier != "_tf_keras_layer":
            continue
        meta = keras_metadata.decode_metadata_json(node.metadata, f"{meta_path} ({node.node_path})")
        if isinstance(meta, dict) and meta.get("class_name") in _LOOKUPS:
            key = (meta["class_name"], str(meta.get("config", {}).get("name")))
            node_ids.setdefault(key, []).append(node.node_id)
    graph = lookup_tables.SavedModelGraph(
        storage.read_bytes(os.path.join(path, saved_model_pb.FILE_NAME)), where)
    for class_name, inner in adapted:
        name = inner.get("name")
        if inner.get("output_mode") == "tf_idf":
            raise FormatError(f"Expected {class_name} '{name}' in {where} to use an output mode "
                              f"other than tf_idf. Received an adapted tf_idf layer, whose IDF "
                              f"weights savepoint does not read from a SavedModel. Fix: in "
                              f"tf.keras, save the model as '.keras' (or build the layer with "
                              f"vocabulary= and idf_weights=) and save again.")
        ids = node_ids.get((class_name, str(name)), [])
        if len(ids) != 1:
            raise FormatError(f"Expected one {class_name} '{name}' in {meta_path} (its vocabulary "
                              f"is in the graph). Received {len(ids)}. Fix: in tf.keras, build "
                              f"the layer with vocabulary=layer.get_vocabulary() and save again.")
        keys, values = lookup_tables.table_contents(
            graph, ids[0], ["_lookup_layer"] if class_name == "TextVectorization" else None)
        inner["vocabulary"] = _tokens_in_order(keys, values, bool(inner.get("invert")),
                                               f"{class_name} '{name}' of {where}")
    return {str(inner.get("name")) for _, inner in adapted}


def _tokens_in_order(keys: Any, values: Any, invert: bool, where: str) -> list:
    """The table's tokens ordered by their indices, which must be consecutive."""
    tokens, indices = (values, keys) if invert else (keys, values)
    indices = np.asarray(indices)
    order = np.argsort(indices, kind="stable")
    if len(tokens) != len(indices) or indices.dtype.kind not in "iu" or len(indices) and \
            not np.array_equal(indices[order], np.arange(indices.min(), indices.min() +
                                                         len(indices))):
        raise FormatError(f"Expected the lookup table of {where} to map its tokens to "
                          f"consecutive indices. Received {len(tokens)} tokens and indices "
                          f"{indices[:8].tolist()}... Fix: in tf.keras, build the layer with "
                          f"vocabulary=layer.get_vocabulary() and save again.")
    return [tokens[i] if isinstance(tokens, list) else int(tokens[i]) for i in order]


def _subclassed_build_shape(meta: dict) -> Any:
    """The input shape a subclassed model was built for (functional and Sequential models
    rebuild built from their config)."""
    return None if meta.get("is_graph_network") else meta.get("build_input_shape")


def _read_metadata(path: str) -> tuple[str, dict]:
    """``saved_model.pb`` checked, then the root node's JSON of ``keras_metadata.pb``."""
    _check_directory(path)
    summary = saved_model_pb.read_saved_model(os.path.join(path, saved_model_pb.FILE_NAME))
    where = os.path.join(path, keras_metadata.FILE_NAME)
    if storage.exists(where):
        return where, keras_metadata.root_metadata(keras_metadata.read_keras_metadata(where),
                                                   where)
    old = [g for g in summary.meta_graphs
           if g.root_identifier.startswith("_tf_keras_") and g.root_metadata]
    if not old:
        raise FormatError(_no_keras_metadata(path, summary))
    # TF 2.4 and older kept the root's Keras JSON in saved_model.pb itself
    where = os.path.join(path, saved_model_pb.FILE_NAME)
    node = keras_metadata.MetadataNode(node_path="root", metadata=old[0].root_metadata)
    return where, keras_metadata.root_metadata([node], where)


def _check_directory(path: str) -> None:
    if not storage.isdir(path) or not storage.exists(
            os.path.join(path, saved_model_pb.FILE_NAME)):
        raise FormatError(f"Expected a TensorFlow SavedModel directory at {path!r} (with "
                          f"{saved_model_pb.FILE_NAME}). Received "
                          f"{'a directory without it' if storage.isdir(path) else 'no directory'}"
                          f". Fix: pass the directory tf.keras's model.save() wrote.")
    if not storage.exists(os.path.join(path, VARIABLES + ".index")):
        raise FormatError(f"Expected the SavedModel {path!r} to hold its variables in "
                          f"{VARIABLES}.index. Received {sorted(storage.listdir(path))[:8]}. "
                          f"The directory is incomplete. Fix: copy the whole SavedModel "
                          f"directory, variables/ included.")


def _no_keras_metadata(path: str, summary: saved_model_pb.SavedModelSummary) -> str:
    signatures = [s.describe() for s in summary.signatures()
                  if not s.name.startswith("__")] or ["none"]
    roots = sorted({g.root_identifier or "?" for g in summary.meta_graphs})
    return (f"Expected a SavedModel written by tf.keras (with {keras_metadata.FILE_NAME}) at "
            f"{path!r}. Received a SavedModel without Keras metadata (root object "
            f"{', '.join(roots)}: a tf.Module or a TF Hub export), so there is no Keras model "
            f"to rebuild; its signatures are: {'; '.join(signatures)}. savepoint rebuilds Keras "
            f"models from their config and cannot run TensorFlow graphs. Fix: call it in "
            f"TensorFlow (tf.saved_model.load(path).signatures[...]), or rebuild the model in "
            f"Keras and save it from tf.keras.")


class _AdaptedLookupsWeighted:
    """The model's checkpoint tree numbered as tf.keras numbers it when adapted lookup layers
    are present: tf.keras counts them as layers with weights (their adapt state, a
    ``token_counts`` table), so ``layer_with_weights-N`` shifts past them; savepoint's lookup
    layers hold no weights."""

    def __init__(self, model: Any, adapted: set[str], optimizer: bool):
        self._model, self._adapted, self._optimizer = model, adapted, optimizer
        self._trackable_identity = model

    def _trackable_children(self) -> list[tuple[str, Any]]:
        children: list[tuple[str, Any]] = []
        weighted = 0
        for i, layer in enumerate(self._model.layers):
            if layer.weights or layer.name in self._adapted:
                children.append((f"layer_with_weights-{weighted}", layer))
                weighted += 1
            children.append((f"layer-{i}", layer))
        return children + [(n, c) for n, c in self._model._trackable_children()
                           if not n.startswith("layer") and (self._optimizer or
                                                              n != "optimizer")]


def _restore(model: Any, path: str, compiled: bool, adapted: set[str] = frozenset()) -> None:
    from savepoint.saving.engine.checkpoint_io import restore_tree
    prefix = os.path.join(path, VARIABLES)
    legacy = _legacy_optimizer_state(model, prefix) if compiled else None
    root = model if compiled and legacy is None else _WithoutOptimizer(model)
    if adapted and getattr(model, "_graph", None) is not None:
        root = _AdaptedLookupsWeighted(model, adapted, compiled and legacy is None)
    status = restore_tree(root, prefix, where=path)
    status.expect_partial()  # signatures, keras_api and metrics live in the bundle too
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        raise FormatError(f"The variables of SavedModel {path!r} do not match the architecture "
                          f"in its {keras_metadata.FILE_NAME}: {e} Fix: re-save the model from "
                          f"tf.keras.") from None
    if legacy:
        iterations, slots = legacy
        model.optimizer.set_iterations(iterations)
        model.optimizer._defer_restore(slots)


def _legacy_optimizer_state(model: Any, prefix: str) -> tuple[int, dict[int, Any]] | None:
    """The iterations and slots of a legacy optimizer_v2 layout, read and checked against the
    built optimizer (position in ``optimizer.variables`` -> value); None for the TF2 layout."""
    from savepoint.saving.mapping.object_graph import collect
    with BundleReader(prefix) as reader:
        if _LEGACY_ITER not in reader:
            return None
        optimizer = model.optimizer
        optimizer.build(model.trainable_weights)
        positions = {var.path: i for i, var in enumerate(optimizer.variables)}
        graph = og.decode_object_graph(reader.get_tensor(og.OBJECT_GRAPH_KEY))
        paths = {key: var.path for key, var in collect(_WithoutOptimizer(model)).keyed_variables}
        slots: dict[int, Any] = {}
        kind = type(optimizer).__name__
        for owner_key, slot_name, key in _slot_keys(graph):
            var_path = paths.get(owner_key, "")
            slot_name = _LEGACY_SLOTS.get(kind, {}).get(slot_name, slot_name)
            position = positions.get(f"{kind}/{slot_name}/{var_path}")
            if position is None:
                raise ConfigError(
                    f"Expected the legacy optimizer slot {key!r} of SavedModel {prefix!r} to "
                    f"have a place in {kind} (slots "
                    f"{sorted({p.split('/')[1] for p in positions if '/' in p})}). Received a "
                    f"slot {slot_name!r} of {var_path or owner_key!r}. Fix: load with "
                    f"compile=False and compile anew (the optimizer state is then lost).")
            slots[position] = np.asarray(reader.get_tensor(key))  # crc32c checked here
        iterations = int(np.asarray(reader.get_tensor(_LEGACY_ITER)))
    optimizer._check_deferred(slots)
    return iterations, slots


def _slot_keys(graph: og.TrackableObjectGraph) -> list[tuple[str, str, str]]:
    """``(owner variable key, slot name, slot tensor key)`` for every slot variable."""
    found = []
    for node in graph.nodes:
        for slot in node.slot_variables:
            owner = graph.nodes[slot.original_variable_node_id].attributes
            target = graph.nodes[slot.slot_variable_node_id].attributes
            if owner and target:
                found.append((owner[0].checkpoint_key, slot.slot_name,
                              target[0].checkpoint_key))
    return found


# ----- verify, save, sniff ------------------------------------------------------------------
def verify(path: str) -> verification.VerifyReport:
    """Check a SavedModel without loading it: ``saved_model.pb`` parses and, with a
    ``fingerprint.pb``, matches its checksum (and ``variables.index`` its hash), every node of
    ``keras_metadata.pb`` holds JSON, and every tensor of the bundle matches its checksum.

    Example:
        >>> verify("/nonexistent/saved_model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Expected a TensorFlow SavedModel directory at ...
    """
    path = os.fspath(path)
    _check_directory(path)
    saved_model_pb.read_saved_model(os.path.join(path, saved_model_pb.FILE_NAME))
    fingerprint_pb.check_fingerprint(path)  # saved_model.pb and variables.index, when recorded
    where = os.path.join(path, keras_metadata.FILE_NAME)
    if storage.exists(where):
        nodes = keras_metadata.read_keras_metadata(where)
        keras_metadata.root_metadata(nodes, where)
        for node in nodes:
            keras_metadata.decode_metadata_json(node.metadata, f"{where} ({node.node_path})")
    report = verification.verify_checkpoint(os.path.join(path, VARIABLES))
    return verification.VerifyReport(path, FORMAT, report.n_tensors, report.bytes_checked)


def save(model: Any, path: str, include_optimizer: bool = True) -> None:
    """Refuse: ``model.save("dir")`` writes savepoint's model directory (``model_directory``).

    Example:
        >>> save(None, "my_model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.ConfigError: Expected model.save('dir') to pick the format ...
    """
    raise ConfigError(f"Expected model.save('dir') to pick the format for {path!r}. Received a "
                      f"request to write the read-only {FORMAT!r} format (SavedModels written "
                      f"by tf.keras). Fix: call model.save({path!r}) without save_format.")


def present(path: str) -> bool:
    """A directory at ``path`` holding ``saved_model.pb`` and no savepoint ``saved_model.json``.

    Example:
        >>> present("/nonexistent/saved_model")
        False
    """
    path = os.fspath(path)
    return storage.isdir(path) and storage.exists(os.path.join(path, saved_model_pb.FILE_NAME)) \
        and not storage.exists(os.path.join(path, META_FILE))


registry.register(registry.FormatSpec(
    name=FORMAT, kind="model", suffixes=(), example="saved_model", save=save, load=load,
    verify=verify, delete=storage.remove_tree, present=present, read_only=True,
    description="TensorFlow SavedModel written by tf.keras"))

__all__ = ["FORMAT", "load", "present", "save", "verify"]
