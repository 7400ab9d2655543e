"""Writing ``saved_model.pb`` and ``keras_metadata.pb``: the ``records`` -> protobuf bytes.

The messages a SavedModel needs (``docs/SAVEDMODEL.md``): the MetaGraphDef's outer GraphDef
(NodeDefs with typed AttrValues), its FunctionDef library (one forward pass), the SaverDef, the
signatures, the SavedObjectGraph (user objects, variables, bare concrete functions, concrete
function signatures as StructuredValues), and tf-keras's SavedMetadata. Field numbers come from
``schema``; the wire codec is ``tf_checkpoint.proto``'s. Maps are written with sorted keys so the
same model always gives the same bytes. Nothing here knows a model: the lowering and the handler
fill these records.

Example:
    >>> node = NodeDef("x", "Placeholder", attrs={"dtype": Attr("type", 1),
    ...                                          "shape": Attr("shape", (-1, 4))})
    >>> encode_node(node).hex()[:12]
    '0a0178120b50'
"""

from __future__ import annotations

import struct
from typing import Any

from savepoint.errors import FormatError
from savepoint.saving.formats.saved_model import schema as S
from savepoint.saving.formats.saved_model.records import (  # noqa: F401 (re-exported records)
    Attr, BareConcreteFunction, ConcreteFunction, FunctionDef, KerasNode, MetaGraph, NodeDef,
    ObjectNode, SavedVariable, Saver, Shape, Signature, Tensor, TensorInfo, TensorSpec,
    UserObject)
from savepoint.saving.formats.tf_checkpoint.proto import (FIXED32, FIXED64, VARINT, encode_shape,
                                                           put_int, put_len, put_str, put_tag,
                                                           put_varint)


# ----------------------------------------------------------------------------- scalars
def _put_float(out: bytearray, number: int, value: float) -> None:
    put_tag(out, number, FIXED32)
    out += struct.pack("<f", value)


def _put_bool(out: bytearray, number: int, value: bool) -> None:
    put_int(out, number, int(bool(value)))


def _packed(values: list[int]) -> bytes:
    out = bytearray()
    for v in values:
        put_varint(out, int(v))
    return bytes(out)


def _map_entry(key: str, value: bytes) -> bytes:
    out = bytearray()
    put_str(out, S.MapEntry.key, key)
    put_len(out, S.MapEntry.value, value)
    return bytes(out)


def _put_map(out: bytearray, number: int, items: dict[str, bytes]) -> None:
    for key in sorted(items):
        put_len(out, number, _map_entry(key, items[key]))


def encode_tensor_shape(shape: Shape) -> bytes:
    """A TensorShapeProto; ``None`` dims are ``-1``, a ``None`` shape an unknown rank.

    Example:
        >>> encode_tensor_shape((None, 2)).hex()
        '120b08ffffffffffffffffff0112020802'
    """
    if shape is None:
        return encode_shape((), unknown_rank=True)
    return encode_shape(tuple(-1 if d is None else int(d) for d in shape))


def encode_tensor(t: Tensor) -> bytes:
    """A TensorProto.

    Example:
        >>> encode_tensor(Tensor(S.DT_INT32, (1,), (7).to_bytes(4, "little"))).hex()
        '0803120412020801220407000000'
    """
    out = bytearray()
    put_int(out, S.TensorProto.dtype, t.dtype)
    put_len(out, S.TensorProto.tensor_shape, encode_tensor_shape(t.shape))
    if t.content:
        put_len(out, S.TensorProto.tensor_content, t.content)
    for s in t.strings:
        put_len(out, S.TensorProto.string_val, s)
    return bytes(out)


def encode_attr(attr: Attr) -> bytes:
    """An AttrValue in the field its kind names.

    Example:
        >>> encode_attr(Attr("list(int)", [1, 2, 2, 1])).hex()
        '0a061a0401020201'
    """
    out = bytearray()
    kind, v = attr.kind, attr.value
    if kind == "type":
        put_int(out, S.AttrValue.type, v, always=True)
    elif kind == "int":
        put_int(out, S.AttrValue.i, int(v), always=True)
    elif kind == "float":
        _put_float(out, S.AttrValue.f, float(v))
    elif kind == "bool":
        put_tag(out, S.AttrValue.b, VARINT)
        put_varint(out, int(bool(v)))
    elif kind == "string":
        put_len(out, S.AttrValue.s, v.encode("utf-8") if isinstance(v, str) else bytes(v))
    elif kind == "shape":
        put_len(out, S.AttrValue.shape, encode_tensor_shape(v))
    elif kind == "tensor":
        put_len(out, S.AttrValue.tensor, encode_tensor(v))
    elif kind == "func":
        put_len(out, S.AttrValue.func, _name_attr_list(v))
    elif kind.startswith("list("):
        put_len(out, S.AttrValue.list, _list_value(kind, v))
    else:
        raise FormatError(f"Expected an OpDef attr type (type, int, float, bool, string, shape, "
                          f"tensor, func, list(...)). Received {kind!r}. Fix: correct the op "
                          f"table entry that declares it.")
    return bytes(out)


def _name_attr_list(name: str) -> bytes:
    out = bytearray()
    put_str(out, S.NameAttrList.name, name)
    return bytes(out)


def _list_value(kind: str, values: list) -> bytes:
    out = bytearray()
    if kind == "list(int)" and values:
        put_len(out, S.ListValue.i, _packed(values))
    elif kind == "list(type)" and values:
        put_len(out, S.ListValue.type, _packed(values))
    elif kind == "list(string)":
        for s in values:
            put_len(out, S.ListValue.s, s.encode("utf-8") if isinstance(s, str) else s)
    elif kind == "list(shape)":
        for shape in values:
            put_len(out, S.ListValue.shape, encode_tensor_shape(shape))
    elif kind not in ("list(int)", "list(type)"):
        raise FormatError(f"Expected list(int), list(type), list(string) or list(shape). "
                          f"Received {kind!r}. Fix: correct the op table entry.")
    return bytes(out)


# ----------------------------------------------------------------------------- graphs
def encode_node(node: NodeDef) -> bytes:
    """A NodeDef (attrs sorted by name, as TensorFlow serializes its map)."""
    out = bytearray()
    put_str(out, S.NodeDef.name, node.name)
    put_str(out, S.NodeDef.op, node.op)
    for name in node.inputs:
        put_len(out, S.NodeDef.input, name.encode("utf-8"))
    _put_map(out, S.NodeDef.attr, {k: encode_attr(a) for k, a in node.attrs.items()})
    return bytes(out)


def _arg(name: str, dtype: int) -> bytes:
    out = bytearray()
    put_str(out, S.ArgDef.name, name)
    put_int(out, S.ArgDef.type, dtype)
    return bytes(out)


def encode_function(fn: FunctionDef) -> bytes:
    """A FunctionDef: its OpDef signature, body and ``ret`` map."""
    sig = bytearray()
    put_str(sig, S.OpDef.name, fn.name)
    for name, dtype in fn.inputs:
        put_len(sig, S.OpDef.input_arg, _arg(name, dtype))
    for name, dtype in fn.outputs:
        put_len(sig, S.OpDef.output_arg, _arg(name, dtype))
    _put_bool(sig, S.OpDef.is_stateful, fn.is_stateful)
    out = bytearray()
    put_len(out, S.FunctionDef.signature, sig)
    for node in fn.nodes:
        put_len(out, S.FunctionDef.node_def, encode_node(node))
    _put_map(out, S.FunctionDef.ret, {k: v.encode("utf-8") for k, v in fn.ret.items()})
    return bytes(out)


def encode_graph(nodes: list[NodeDef], functions: list[FunctionDef]) -> bytes:
    """A GraphDef with its function library and TF 2.21's graph versions."""
    out = bytearray()
    for node in nodes:
        put_len(out, S.GraphDef.node, encode_node(node))
    library = bytearray()
    for fn in functions:
        put_len(library, S.FunctionDefLibrary.function, encode_function(fn))
    put_len(out, S.GraphDef.library, library)
    versions = bytearray()
    put_int(versions, 1, S.GRAPH_PRODUCER)
    put_int(versions, 2, S.GRAPH_MIN_CONSUMER)
    put_len(out, S.GraphDef.versions, versions)
    return bytes(out)


def _tensor_info(info: TensorInfo) -> bytes:
    out = bytearray()
    put_str(out, S.TensorInfo.name, info.name)
    put_int(out, S.TensorInfo.dtype, info.dtype)
    put_len(out, S.TensorInfo.tensor_shape, encode_tensor_shape(info.shape))
    return bytes(out)


def _signature(sig: Signature) -> bytes:
    out = bytearray()
    _put_map(out, S.SignatureDef.inputs, {k: _tensor_info(v) for k, v in sig.inputs.items()})
    _put_map(out, S.SignatureDef.outputs, {k: _tensor_info(v) for k, v in sig.outputs.items()})
    put_str(out, S.SignatureDef.method_name, sig.method_name)
    return bytes(out)


def _saver(saver: Saver) -> bytes:
    out = bytearray()
    put_str(out, S.SaverDef.filename_tensor_name, saver.filename_tensor_name)
    put_str(out, S.SaverDef.save_tensor_name, saver.save_tensor_name)
    put_str(out, S.SaverDef.restore_op_name, saver.restore_op_name)
    put_int(out, S.SaverDef.max_to_keep, 5)
    _put_bool(out, S.SaverDef.sharded, True)
    _put_float(out, S.SaverDef.keep_checkpoint_every_n_hours, 10000.0)
    put_int(out, S.SaverDef.version, S.SAVER_V2)
    return bytes(out)


# ----------------------------------------------------------------------------- object graph
def encode_structured(value: Any) -> bytes:
    """A StructuredValue of Python values: None, bool, int, float, str, tuple, list, dict
    (string keys) and ``TensorSpec``.

    Example:
        >>> encode_structured(((), {})).hex()
        'a2030a0a03a203000a03aa0300'
    """
    out = bytearray()
    if value is None:
        put_len(out, S.StructuredValue.none_value, b"")
    elif isinstance(value, bool):
        put_tag(out, S.StructuredValue.bool_value, VARINT)
        put_varint(out, int(value))
    elif isinstance(value, int):
        put_tag(out, S.StructuredValue.int64_value, VARINT)  # sint64: zigzag
        put_varint(out, (value << 1) ^ (value >> 63))
    elif isinstance(value, float):
        put_tag(out, S.StructuredValue.float64_value, FIXED64)
        out += struct.pack("<d", value)
    elif isinstance(value, str):
        put_len(out, S.StructuredValue.string_value, value.encode("utf-8"))
    elif isinstance(value, TensorSpec):
        spec = bytearray()
        put_str(spec, S.TensorSpecProto.name, value.name)
        put_len(spec, S.TensorSpecProto.shape, encode_tensor_shape(value.shape))
        put_int(spec, S.TensorSpecProto.dtype, value.dtype)
        put_len(out, S.StructuredValue.tensor_spec_value, spec)
    elif isinstance(value, (tuple, list)):
        items = bytearray()
        for item in value:
            put_len(items, 1, encode_structured(item))
        number = S.StructuredValue.tuple_value if isinstance(value, tuple) else \
            S.StructuredValue.list_value
        put_len(out, number, items)
    elif isinstance(value, dict):
        fields = bytearray()
        _put_map(fields, 1, {k: encode_structured(v) for k, v in value.items()})
        put_len(out, S.StructuredValue.dict_value, fields)
    else:
        raise FormatError(f"Expected None, bool, int, float, str, tuple, list, dict or "
                          f"TensorSpec in a function signature. Received {type(value).__name__}.")
    return bytes(out)


def _object(node: ObjectNode) -> bytes:
    out = bytearray()
    for name, node_id in node.children:
        ref = bytearray()
        put_int(ref, S.ObjectReference.node_id, node_id)
        put_str(ref, S.ObjectReference.local_name, name)
        put_len(out, S.SavedObject.children, ref)
    kind, body = node.kind, bytearray()
    if isinstance(kind, UserObject):
        put_str(body, S.SavedUserObject.identifier, kind.identifier)
        if kind.has_version:
            version = bytearray()
            put_int(version, 1, kind.version[0])
            put_int(version, 2, kind.version[1])
            put_len(body, S.SavedUserObject.version, version)
        put_str(body, S.SavedUserObject.metadata, kind.metadata)
        put_len(out, S.SavedObject.user_object, body)
    elif isinstance(kind, SavedVariable):
        put_int(body, S.SavedVariable.dtype, kind.dtype)
        put_len(body, S.SavedVariable.shape, encode_tensor_shape(kind.shape))
        _put_bool(body, S.SavedVariable.trainable, kind.trainable)
        put_str(body, S.SavedVariable.name, kind.name)
        put_len(out, S.SavedObject.variable, body)
    else:
        put_str(body, S.SavedBareConcreteFunction.concrete_function_name,
                kind.concrete_function_name)
        for keyword in kind.argument_keywords:
            put_len(body, S.SavedBareConcreteFunction.argument_keywords, keyword.encode("utf-8"))
        put_int(body, S.SavedBareConcreteFunction.allowed_positional_arguments,
                kind.allowed_positional_arguments)
        put_len(out, S.SavedObject.bare_concrete_function, body)
    return bytes(out)


def _concrete(fn: ConcreteFunction) -> bytes:
    out = bytearray()
    if fn.bound_inputs:
        put_len(out, S.SavedConcreteFunction.bound_inputs, _packed(fn.bound_inputs))
    put_len(out, S.SavedConcreteFunction.canonicalized_input_signature,
            encode_structured(fn.input_signature))
    put_len(out, S.SavedConcreteFunction.output_signature, encode_structured(fn.output_signature))
    return bytes(out)


def encode_saved_model(meta: MetaGraph) -> bytes:
    """The whole ``saved_model.pb``: one MetaGraphDef with graph, saver, signatures and objects.

    Example:
        >>> meta = MetaGraph([], [], Saver("f:0", "s:0", "r"), {}, [], {})
        >>> encode_saved_model(meta)[:2].hex()
        '0801'
    """
    info = bytearray()
    for tag in meta.tags:
        put_len(info, S.MetaInfoDef.tags, tag.encode("utf-8"))
    put_str(info, S.MetaInfoDef.tensorflow_version, meta.tensorflow_version)
    # TF fills each missing attr from its OpDef default on load
    _put_bool(info, S.MetaInfoDef.stripped_default_attrs, True)
    graph = bytearray()
    for node in meta.objects:
        put_len(graph, S.SavedObjectGraph.nodes, _object(node))
    _put_map(graph, S.SavedObjectGraph.concrete_functions,
             {k: _concrete(v) for k, v in meta.concrete_functions.items()})
    out = bytearray()
    put_len(out, S.MetaGraphDef.meta_info_def, info)
    put_len(out, S.MetaGraphDef.graph_def, encode_graph(meta.nodes, meta.functions))
    if meta.saver is not None:
        put_len(out, S.MetaGraphDef.saver_def, _saver(meta.saver))
    _put_map(out, S.MetaGraphDef.signature_def,
             {k: _signature(v) for k, v in meta.signatures.items()})
    put_len(out, S.MetaGraphDef.object_graph_def, graph)
    model = bytearray()
    put_int(model, S.SavedModel.saved_model_schema_version, S.SCHEMA_VERSION)
    put_len(model, S.SavedModel.meta_graphs, out)
    return bytes(model)


def encode_keras_metadata(nodes: list[KerasNode]) -> bytes:
    """``keras_metadata.pb``: tf-keras's SavedMetadata.

    Example:
        >>> encode_keras_metadata([KerasNode(0, "root", "_tf_keras_sequential", "{}")])[:2].hex()
        '0a26'
    """
    out = bytearray()
    for node in nodes:
        msg = bytearray()
        put_int(msg, S.KerasSavedObject.node_id, node.node_id)
        put_str(msg, S.KerasSavedObject.node_path, node.node_path)
        put_str(msg, S.KerasSavedObject.identifier, node.identifier)
        put_str(msg, S.KerasSavedObject.metadata, node.metadata)
        version = bytearray()
        put_int(version, 1, S.KERAS_METADATA_VERSION[0])
        put_int(version, 2, S.KERAS_METADATA_VERSION[1])
        put_len(msg, S.KerasSavedObject.version, version)
        put_len(out, S.SavedMetadata.nodes, msg)
    return bytes(out)
