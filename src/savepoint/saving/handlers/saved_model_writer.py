"""Writing a real TensorFlow SavedModel from a savepoint model, without TensorFlow.

``write_saved_model(model, directory)`` writes ``saved_model.pb``, ``keras_metadata.pb``,
``fingerprint.pb`` (TF's FingerprintDef, the hashes TF itself computes) and ``variables/`` (the
same tensor bundle as ``save_weights``, optimizer slots included) as ``docs/SAVEDMODEL.md``
specifies, so that TF 2.21's three loaders open it:

- ``tf.saved_model.load(d).signatures["serving_default"]`` runs the forward pass lowered to TF
  raw ops (``exports.lowering``): one FunctionDef fed by the inputs (keys as tf.keras names them:
  the Input layers' names) and one resource per variable; outputs keyed by output layer names;
- ``saved_model_cli run`` and the C++ loader (TF Serving) run the outer GraphDef: VarHandleOps,
  ``serving_default_<input>`` Placeholders, a StatefulPartitionedCall, and the RestoreV2/SaveV2
  ops the SaverDef names;
- ``tf.keras.models.load_model(d)`` rebuilds the model from ``keras_metadata.pb`` (tf.keras 2
  configs and the training config) and restores the variables by walking the object graph.

A model whose forward pass cannot be lowered (a custom layer, an unsupported option) still gets
``keras_metadata.pb`` and the variables, so tf.keras opens it with ``custom_objects``; the writer
warns, naming the layer, that it has no serving signature. ``write_saved_model_files`` writes the
two protos into a directory whose ``variables/`` another writer produced (the model directory).

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = os.path.join(tempfile.mkdtemp(), "sm"); write_saved_model(m, d)
    >>> sorted(os.listdir(d))
    ['fingerprint.pb', 'keras_metadata.pb', 'saved_model.pb', 'variables']
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from typing import Any


from savepoint.saving import storage
from savepoint.saving.engine import whole_model
from savepoint.saving.formats.saved_model import encode as pb
from savepoint.saving.formats.saved_model.schema import DT_STRING
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for
from savepoint.saving.mapping import object_graph as graph_lib
from savepoint.saving.mapping.dialects import keras2

VARIABLES = "variables/variables"
SIGNATURE = "serving_default"
KERAS_VERSION = "2.21.0"


class _Tree:
    """The model's trackable tree, with or without the optimizer."""

    def __init__(self, model: Any, include_optimizer: bool):
        self._model, self._optimizer = model, include_optimizer
        self._trackable_identity = model

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return [(n, c) for n, c in self._model._trackable_children()
                if self._optimizer or n != "optimizer"]


def write_saved_model(model: Any, directory: str, include_optimizer: bool = True) -> None:
    """Write ``model`` as a TensorFlow SavedModel at ``directory`` (replaced atomically)."""
    from savepoint.saving.engine.checkpoint_io import save_tree
    directory = os.fspath(directory)
    whole_model.require_built(model)
    temp = storage.temp_dir_for(directory)
    try:
        storage.makedirs(os.path.join(temp, "variables"))
        save_tree(_Tree(model, include_optimizer), os.path.join(temp, VARIABLES))
        write_saved_model_files(model, temp, include_optimizer)
        storage.commit_directory(temp, directory)
    except BaseException:
        storage.remove_tree(temp)
        raise


def export_serving_saved_model(model: Any, directory: str) -> None:
    """Write the serving-only SavedModel of ``model`` (``model.export(format="tf_saved_model")``):
    no Keras metadata or optimizer, and a layer without a lowering raises ``LoweringError``."""
    from savepoint.exports.lowering import lower_model
    from savepoint.saving.engine.checkpoint_io import save_tree
    directory = os.fspath(directory)
    whole_model.require_built(model)
    lowered = lower_model(model)  # before anything is written: an unservable model is refused
    temp = storage.temp_dir_for(directory)
    try:
        storage.makedirs(os.path.join(temp, "variables"))
        storage.makedirs(os.path.join(temp, "assets"))
        save_tree(_Tree(model, False), os.path.join(temp, VARIABLES))
        write_saved_model_files(model, temp, False, lowered=lowered, keras_metadata=False)
        storage.commit_directory(temp, directory)
    except BaseException:
        storage.remove_tree(temp)
        raise


def write_saved_model_files(model: Any, directory: str, include_optimizer: bool = True,
                            lowered: Any = None, keras_metadata: bool = True) -> bool:
    """Write ``saved_model.pb``, ``keras_metadata.pb`` and ``fingerprint.pb`` into ``directory``
    (whose ``variables/`` holds the model's bundle); return whether a serving signature was
    written."""
    from savepoint.exports.lowering import LoweringError, lower_model
    whole_model.require_built(model)
    if lowered is None:
        try:
            lowered = lower_model(model)
        except LoweringError as e:
            warnings.warn(f"SavedModel of '{model.name}' written without a serving signature: "
                          f"{e} tf.keras.models.load_model still opens it (with custom_objects "
                          f"for custom layers).", stacklevel=3)
    # the SavedObjectGraph mirrors the bundle's graph node for node (optimizer included), so
    # TF restores every value it finds and warns about none
    collected = graph_lib.collect(_Tree(model, include_optimizer))
    keys = {id(var.value): key for key, var in collected.keyed_variables}
    objects, paths = _objects(collected)
    meta = pb.MetaGraph([], [], None, {}, objects, {})
    # the signature map, empty without a lowering: TF's loaders then list no signature
    objects[0].children.append(("signatures", len(objects)))
    objects.append(pb.ObjectNode([], pb.UserObject("signature_map", (1, 1))))
    if lowered is not None:
        _add_signature(meta, lowered, collected, keys)
    saved_model = pb.encode_saved_model(meta)
    storage.write_bytes_atomically(os.path.join(directory, "saved_model.pb"), saved_model)
    if keras_metadata:
        storage.write_bytes_atomically(os.path.join(directory, "keras_metadata.pb"),
                                       pb.encode_keras_metadata(
                                           _keras_nodes(model, collected, paths,
                                                        include_optimizer)))
    _write_fingerprint(directory, saved_model)
    return lowered is not None


def _write_fingerprint(directory: str, saved_model: bytes) -> None:
    """``fingerprint.pb`` as TF 2.21 computes it (``formats.saved_model.fingerprint_pb``)."""
    from savepoint.saving.formats.saved_model import fingerprint_pb
    index_path = os.path.join(directory, VARIABLES + ".index")
    index = storage.read_bytes(index_path) if storage.exists(index_path) else None
    fp = fingerprint_pb.compute_fingerprint(saved_model, index, uuid=fingerprint_pb.new_uuid())
    storage.write_bytes_atomically(os.path.join(directory, fingerprint_pb.FILE_NAME),
                                   fingerprint_pb.encode_fingerprint(fp))


# ----------------------------------------------------------------------------- object graph
def _is_layer(obj: Any) -> bool:
    from savepoint.layers.base import Layer
    return isinstance(obj, Layer)


def _objects(collected: graph_lib.Collected) -> tuple[list[pb.ObjectNode], dict[int, str]]:
    """One SavedObject per trackable node, numbered as the checkpoint numbers them; the
    ``node_path`` (``root.layer_with_weights-0``) of each, by first breadth-first visit."""
    from savepoint.layers.variable import Variable
    paths = {0: "root"}
    objects = []
    for node_id, (obj, node) in enumerate(zip(collected.objects, collected.graph.nodes)):
        for ref in node.children:
            paths.setdefault(ref.node_id, f"{paths[node_id]}.{ref.local_name}")
        children = [(ref.local_name, ref.node_id) for ref in node.children]
        if isinstance(obj, Variable):
            kind: Any = pb.SavedVariable(tf_enum_for(obj.dtype), tuple(obj.shape),
                                         bool(obj.trainable), obj.path)
        elif node_id == 0:
            kind = pb.UserObject(_root_identifier(obj._model), (1, 1))
        elif _is_layer(obj):
            kind = pb.UserObject(_layer_identifier(obj), (1, 1))
        else:
            kind = pb.UserObject("_generic_user_object", (1, 1))
        objects.append(pb.ObjectNode(children, kind))
    return objects, paths


def _root_identifier(model: Any) -> str:
    if hasattr(model, "_stack"):
        return "_tf_keras_sequential"
    return "_tf_keras_network" if getattr(model, "_graph", None) is not None else \
        "_tf_keras_model"


def _layer_identifier(layer: Any) -> str:
    if type(layer).__name__ == "InputLayer":
        return "_tf_keras_input_layer"
    if hasattr(layer, "_stack") or hasattr(layer, "_graph"):
        return _root_identifier(layer)
    return "_tf_keras_layer"


def _add_signature(meta: pb.MetaGraph, lowered: Any, collected: graph_lib.Collected,
                   keys: dict[int, str]) -> None:
    """The serving function, its outer graph and saver, and its objects."""
    fn = lowered.function
    ids = {graph_lib.node_key(obj): i for i, obj in enumerate(collected.objects)}
    variables = lowered.variables
    dtypes = [tf_enum_for(v.dtype) for v in variables]
    nodes: list[pb.NodeDef] = []
    handles = []
    for var, dtype in zip(variables, dtypes):
        name = f"{var.path}"
        handles.append(name)
        nodes.append(_node(name, "VarHandleOp", [], dtype=("type", dtype),
                           shape=("shape", tuple(var.shape)), shared_name=("string", var.path)))
    placeholders = []
    for spec in lowered.inputs:
        name = f"{SIGNATURE}_{spec.key}"
        placeholders.append(name)
        nodes.append(_node(name, "Placeholder", [], dtype=("type", spec.dtype),
                           shape=("shape", spec.shape)))
    from savepoint.saving.formats.saved_model.schema import DT_RESOURCE
    nodes.append(_node("StatefulPartitionedCall", "StatefulPartitionedCall",
                       placeholders + handles,
                       Tin=("list(type)", [s.dtype for s in lowered.inputs] +
                            [DT_RESOURCE] * len(handles)),
                       Tout=("list(type)", [s.dtype for s in lowered.outputs]),
                       f=("func", fn.name)))
    nodes += _saver_nodes(handles, [keys[id(v.value)] for v in variables], dtypes)
    meta.nodes, meta.functions = nodes, [fn]
    meta.saver = pb.Saver("saver_filename:0", "save/Identity:0", "save/restore_all")
    meta.signatures[SIGNATURE] = pb.Signature(
        {s.key: pb.TensorInfo(f"{SIGNATURE}_{s.key}:0", s.dtype, s.shape)
         for s in lowered.inputs},
        {s.key: pb.TensorInfo(f"StatefulPartitionedCall:{i}", s.dtype, s.shape)
         for i, s in enumerate(lowered.outputs)})
    signatures = meta.objects[meta.objects[0].children[-1][1]]
    signatures.children.append((SIGNATURE, len(meta.objects)))
    meta.objects.append(pb.ObjectNode([], pb.BareConcreteFunction(
        fn.name, [s.key for s in lowered.inputs])))
    meta.concrete_functions[fn.name] = pb.ConcreteFunction(
        [ids[graph_lib.node_key(v)] for v in variables],
        ((), {s.key: pb.TensorSpec(s.key, s.shape, s.dtype) for s in lowered.inputs}),
        {s.key: pb.TensorSpec(s.key, s.shape, s.dtype) for s in lowered.outputs})


def _node(name: str, op: str, inputs: list[str], **attrs: tuple[str, Any]) -> pb.NodeDef:
    return pb.NodeDef(name, op, inputs, {k: pb.Attr(kind, v) for k, (kind, v) in attrs.items()})


def _strings(name: str, values: list[str]) -> pb.NodeDef:
    tensor = pb.Tensor(DT_STRING, (len(values),), strings=[v.encode("utf-8") for v in values])
    return _node(name, "Const", [], value=("tensor", tensor), dtype=("type", DT_STRING))


def _saver_nodes(handles: list[str], keys: list[str], dtypes: list[int]) -> list[pb.NodeDef]:
    """TF1's saver over the variables: what ``saved_model_cli`` and the C++ loader run."""
    nodes = [_node("saver_filename", "Placeholder", [], dtype=("type", DT_STRING),
                   shape=("shape", ()))]
    if not keys:  # RestoreV2/SaveV2 need at least one tensor: a model without variables
        return nodes + [_node("save/restore_all", "NoOp", []),
                        _node("save/Identity", "Identity", ["saver_filename"],
                              T=("type", DT_STRING))]
    nodes += [_strings("save/tensor_names", keys),
             _strings("save/shape_and_slices", [""] * len(keys)),
             _node("save/RestoreV2", "RestoreV2",
                   ["saver_filename", "save/tensor_names", "save/shape_and_slices"],
                   dtypes=("list(type)", dtypes))]
    assigns = []
    for i, (handle, dtype) in enumerate(zip(handles, dtypes)):
        assigns.append(f"save/AssignVariableOp_{i}")
        nodes.append(_node(assigns[-1], "AssignVariableOp", [handle, f"save/RestoreV2:{i}"],
                           dtype=("type", dtype)))
    nodes.append(_node("save/restore_all", "NoOp", [f"^{a}" for a in assigns]))
    reads = []
    for i, (handle, dtype) in enumerate(zip(handles, dtypes)):
        reads.append(f"save/Read_{i}")
        nodes.append(_node(reads[-1], "ReadVariableOp", [handle], dtype=("type", dtype)))
    nodes.append(_node("save/SaveV2", "SaveV2",
                       ["saver_filename", "save/tensor_names", "save/shape_and_slices"] + reads,
                       dtypes=("list(type)", dtypes)))
    nodes.append(_node("save/Identity", "Identity", ["saver_filename", "^save/SaveV2"],
                       T=("type", DT_STRING)))
    return nodes


# ----------------------------------------------------------------------------- keras metadata
def _shape_json(shape: Any) -> Any:
    return {"class_name": "TensorShape", "items": [None if d is None else int(d) for d in shape]}


def _build_shape(layer: Any) -> Any:
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if not nodes or not nodes[0].input_tensors:  # built, not called: a sublayer's own shape
        shape = getattr(layer, "_build_input_shape", None)
        return None if shape is None else _shape_json(shape)
    shapes = [_shape_json(t.shape) for t in nodes[0].input_tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def _layer_configs(config: dict, found: dict[tuple[str, str], dict]
                   ) -> dict[tuple[str, str], dict]:
    """tf.keras 2 layer entries (``class_name``, ``config``) keyed by (the name of the model
    that holds them, layer name): two nested models may each hold an ``input_1``."""
    scope = config.get("config", {}).get("name")
    for layer in config.get("config", {}).get("layers", []):
        name = layer.get("name") or layer.get("config", {}).get("name")
        found[(scope, name)] = layer
        if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
            _layer_configs(layer, found)
    return found


def _expects_training(layer: Any) -> bool:
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def _keras_nodes(model: Any, collected: graph_lib.Collected, paths: dict[int, str],
                 include_optimizer: bool) -> list[pb.KerasNode]:
    from savepoint.saving.engine.model_config import compile_config
    k2 = keras2.model_to_keras2(whole_model.model_config(model))
    whole_model.check_json(k2)
    entries = _layer_configs(k2, {})
    root = {"name": model.name, "trainable": bool(model.trainable), "expects_training_arg": True,
            "dtype": "float32", "batch_input_shape": None, "must_restore_from_config": False,
            "preserve_input_structure_in_config": False, "autocast": False,
            "class_name": k2["class_name"], "config": k2["config"],
            "is_graph_network": _root_identifier(model) != "_tf_keras_model",
            "build_input_shape": _model_build_shape(model), "keras_version": KERAS_VERSION,
            "backend": "tensorflow", "model_config": k2}
    training = keras2.training_to_keras2(compile_config(model)) \
        if include_optimizer and getattr(model, "optimizer", None) is not None else None
    if training is not None:
        root["training_config"] = _resolved_metrics(model, training)
    nodes = [pb.KerasNode(0, "root", _root_identifier(model), json.dumps(root))]
    by_path = {path: node_id for node_id, path in paths.items()}
    for node_id, obj in enumerate(collected.objects):
        if node_id == 0 or not _is_layer(obj):
            continue
        scope = _scope(model, collected, by_path, paths[node_id])
        entry = entries.get((scope, obj.name), {"class_name": type(obj).__name__,
                                                "config": obj.get_config()})
        identifier = _layer_identifier(obj)
        if identifier == "_tf_keras_input_layer":
            config = entry["config"]
            meta = {"class_name": "InputLayer", "name": obj.name, "dtype": config.get("dtype"),
                    "sparse": False, "ragged": False,
                    "batch_input_shape": config.get("batch_input_shape"), "config": config}
        else:
            meta = {"name": obj.name, "trainable": bool(obj.trainable),
                    "expects_training_arg": _expects_training(obj),
                    "dtype": entry["config"].get("dtype", "float32"),
                    "batch_input_shape": entry["config"].get("batch_input_shape"),
                    "stateful": False, "must_restore_from_config": False,
                    "preserve_input_structure_in_config": False, "autocast": True,
                    "class_name": entry["class_name"], "config": entry["config"],
                    "build_input_shape": _build_shape(obj)}
            if identifier != "_tf_keras_layer":
                meta.update(is_graph_network=True, autocast=False)
        nodes.append(pb.KerasNode(node_id, paths[node_id], identifier, json.dumps(meta)))
    return nodes


def _resolved_metrics(model: Any, training: dict) -> dict:
    """String metrics (``"accuracy"``) replaced by the metric savepoint resolved them to, as
    tf.keras writes them: its SavedModel loader compiles with ``from_serialized=True`` and then
    takes a bare ``"accuracy"`` for categorical accuracy, whatever the loss."""
    built = {m.name: m for m in getattr(model, "metrics", [])
             if type(m).__name__ == "MeanMetricWrapper"}

    def resolve(item: Any) -> Any:
        if isinstance(item, list):
            return [resolve(i) for i in item]
        if isinstance(item, str) and item in built:
            return {"class_name": "MeanMetricWrapper", "config": built[item].get_config()}
        if isinstance(item, str) and item in ("accuracy", "acc"):
            loss = json.dumps(training.get("loss"))
            fn = "sparse_categorical_accuracy" if "sparse" in loss.lower() else None
            if fn:
                return {"class_name": "MeanMetricWrapper",
                        "config": {"name": item, "dtype": "float32", "fn": fn}}
        return item
    return dict(training, metrics=resolve(training.get("metrics")))


def _scope(model: Any, collected: graph_lib.Collected, by_path: dict[str, int],
           path: str) -> str:
    """The name of the nearest layer above the object at ``path`` (lists in between, such as
    an RNN's cells, are skipped), or the model's at the root."""
    while "." in path:
        path = path.rpartition(".")[0]
        parent = by_path.get(path, 0)
        if parent == 0:
            break
        if _is_layer(collected.objects[parent]):
            return collected.objects[parent].name
    return model.name


def _model_build_shape(model: Any) -> Any:
    inputs = getattr(model, "inputs", None) or []
    shapes = [_shape_json(t.shape) for t in inputs]
    return shapes[0] if len(shapes) == 1 else shapes


__all__ = ["export_serving_saved_model", "write_saved_model", "write_saved_model_files"]
