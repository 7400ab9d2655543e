"""Codec of TensorFlow's ``TrackableObjectGraph`` proto (the ``_CHECKPOINTABLE_OBJECT_GRAPH`` tensor).

The graph lists the objects of a TF2 object-based checkpoint: node 0 is the root; each node
has ``children`` (edges ``node_id``/``local_name``), ``attributes`` (the tensors it saved: name
``VARIABLE_VALUE``, ``full_name``, ``checkpoint_key`` = the bundle key), ``slot_variables``
(optimizer slots such as Adam's ``m``/``v``), an optional ``registered_saver`` and the
``has_checkpoint_values`` flag (a ``google.protobuf.BoolValue``). This module only encodes and
decodes; building a graph from a model belongs to ``saving.object_graph``.

Example:
    >>> g = TrackableObjectGraph([
    ...     TrackableObject(children=[ObjectReference(1, "kernel")]),
    ...     TrackableObject(attributes=[SerializedTensor("VARIABLE_VALUE", "dense/kernel",
    ...                                 "kernel/.ATTRIBUTES/VARIABLE_VALUE")])])
    >>> decode_object_graph(encode_object_graph(g)) == g
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint.proto import (LEN, VARINT, Buffer, as_text,
                                                          expect_wire, iter_fields, put_int,
                                                          put_len, put_str, to_signed)

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# Decoded objects cost ~100x their 2-byte minimum encoding: a cap keeps a hostile graph's
# memory bounded. Real graphs hold a few objects per variable, far below it.
MAX_GRAPH_OBJECTS = 2_000_000


@dataclass
class ObjectReference:
    """An edge: ``local_name`` names child ``node_id``."""

    node_id: int = 0
    local_name: str = ""


@dataclass
class SerializedTensor:
    """A tensor an object saved; ``checkpoint_key`` is its key in the bundle."""

    name: str = ""
    full_name: str = ""
    checkpoint_key: str = ""
    optional_restore: bool = False


@dataclass
class SlotVariableReference:
    """Optimizer slot ``slot_name`` of variable node ``original_variable_node_id``."""

    original_variable_node_id: int = 0
    slot_name: str = ""
    slot_variable_node_id: int = 0


@dataclass
class RegisteredSaver:
    """A registered saver function that must exist when loading."""

    name: str = ""
    object_name: str = ""


@dataclass
class TrackableObject:
    """One node of the graph."""

    children: list[ObjectReference] = field(default_factory=list)
    attributes: list[SerializedTensor] = field(default_factory=list)
    slot_variables: list[SlotVariableReference] = field(default_factory=list)
    registered_saver: Optional[RegisteredSaver] = None
    has_checkpoint_values: Optional[bool] = None


@dataclass
class TrackableObjectGraph:
    """The whole graph; ``nodes[0]`` is the root object."""

    nodes: list[TrackableObject] = field(default_factory=list)


# ----------------------------------------------------------------------------- encoding
def _encode_node(node: TrackableObject) -> bytes:
    out = bytearray()
    for ref in node.children:
        msg = bytearray()
        put_int(msg, 1, ref.node_id)
        put_str(msg, 2, ref.local_name)
        put_len(out, 1, msg)
    for attr in node.attributes:
        msg = bytearray()
        put_str(msg, 1, attr.name)
        put_str(msg, 2, attr.full_name)
        put_str(msg, 3, attr.checkpoint_key)
        put_int(msg, 4, int(attr.optional_restore))
        put_len(out, 2, msg)
    for slot in node.slot_variables:
        msg = bytearray()
        put_int(msg, 1, slot.original_variable_node_id)
        put_str(msg, 2, slot.slot_name)
        put_int(msg, 3, slot.slot_variable_node_id)
        put_len(out, 3, msg)
    if node.registered_saver is not None:
        msg = bytearray()
        put_str(msg, 1, node.registered_saver.name)
        put_str(msg, 2, node.registered_saver.object_name)
        put_len(out, 4, msg)
    if node.has_checkpoint_values is not None:
        msg = bytearray()
        put_int(msg, 1, int(node.has_checkpoint_values))
        put_len(out, 5, msg)
    return bytes(out)


def encode_object_graph(graph: TrackableObjectGraph) -> bytes:
    """Serialize a graph exactly as protobuf's C++ serializer does (what TensorFlow stores).

    Example:
        >>> encode_object_graph(TrackableObjectGraph([TrackableObject()])).hex()
        '0a00'
    """
    out = bytearray()
    for node in graph.nodes:
        put_len(out, 1, _encode_node(node))
    return bytes(out)


# ----------------------------------------------------------------------------- decoding
_WHERE = "the checkpoint's object graph (_CHECKPOINTABLE_OBJECT_GRAPH)"


def _int(num: int, wt: int, val: Union[int, memoryview]) -> int:
    expect_wire(num, wt, VARINT, _WHERE)
    return to_signed(int(val), 32)


def _text(num: int, wt: int, val: Union[int, memoryview]) -> str:
    expect_wire(num, wt, LEN, _WHERE)
    return as_text(val, _WHERE)


def _decode_message(buf: Buffer, cls: type, schema: dict[int, tuple[str, str]]) -> Any:
    """Decode a flat message whose fields are varint ints/bools or strings."""
    obj = cls()
    for num, wt, val in iter_fields(buf, _WHERE):
        if num in schema:
            attr, kind = schema[num]
            value: Any = _text(num, wt, val) if kind == "str" else _int(num, wt, val)
            setattr(obj, attr, bool(value) if kind == "bool" else value)
    return obj


_REF = {1: ("node_id", "int"), 2: ("local_name", "str")}
_ATTR = {1: ("name", "str"), 2: ("full_name", "str"), 3: ("checkpoint_key", "str"),
         4: ("optional_restore", "bool")}
_SLOT = {1: ("original_variable_node_id", "int"), 2: ("slot_name", "str"),
         3: ("slot_variable_node_id", "int")}
_SAVER = {1: ("name", "str"), 2: ("object_name", "str")}


def _spend(budget: list[int]) -> None:
    """Count one decoded object against the graph's cap, refusing once it is exhausted."""
    budget[0] -= 1
    if budget[0] < 0:
        raise FormatError(f"Expected at most {MAX_GRAPH_OBJECTS} nodes, references, attributes "
                          f"and slots in {_WHERE}. Received more. The checkpoint is damaged or "
                          "hostile. Fix: re-save it or restore it from a backup.")


def _decode_node(buf: Buffer, budget: list[int]) -> TrackableObject:
    node = TrackableObject()
    for num, wt, val in iter_fields(buf, _WHERE):
        if num not in (1, 2, 3, 4, 5):
            continue
        expect_wire(num, wt, LEN, _WHERE)
        _spend(budget)
        assert isinstance(val, memoryview)
        if num == 1:
            node.children.append(_decode_message(val, ObjectReference, _REF))
        elif num == 2:
            node.attributes.append(_decode_message(val, SerializedTensor, _ATTR))
        elif num == 3:
            node.slot_variables.append(_decode_message(val, SlotVariableReference, _SLOT))
        elif num == 4:
            node.registered_saver = _decode_message(val, RegisteredSaver, _SAVER)
        else:
            node.has_checkpoint_values = any(
                bool(_int(n, w, v)) for n, w, v in iter_fields(val, _WHERE) if n == 1)
    return node


def _check_ids(graph: TrackableObjectGraph) -> None:
    count = len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        ids = [("child", c.node_id) for c in node.children]
        ids += [("slot original", s.original_variable_node_id) for s in node.slot_variables]
        ids += [("slot variable", s.slot_variable_node_id) for s in node.slot_variables]
        for what, node_id in ids:
            if not 0 <= node_id < count:
                raise FormatError(f"Node {i} of {_WHERE} references {what} node {node_id}, but "
                                  f"the graph has {count} nodes. The checkpoint is damaged.")


def decode_object_graph(data: Buffer) -> TrackableObjectGraph:
    """Parse a serialized TrackableObjectGraph, checking that every node id is in range.

    Example:
        >>> decode_object_graph(b"\\x0a\\x04\\x0a\\x02\\x08\\x05")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Node 0 of the checkpoint's object graph ... references child node 5, ...
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        # get_tensor returns an array for a non-scalar entry: its memory is not the proto.
        raise FormatError(f"Expected {_WHERE} to be a scalar string tensor. Received "
                          f"{type(data).__name__} of shape {list(getattr(data, 'shape', []))}. "
                          "The checkpoint is damaged. Fix: re-save it or restore it from a "
                          "backup.")
    graph = TrackableObjectGraph()
    budget = [MAX_GRAPH_OBJECTS]
    for num, wt, val in iter_fields(data, _WHERE):
        if num == 1:
            expect_wire(num, wt, LEN, _WHERE)
            _spend(budget)
            graph.nodes.append(_decode_node(val, budget))  # type: ignore[arg-type]
    _check_ids(graph)
    return graph


# ----------------------------------------------------------------------------- JSON view
def _drop_defaults(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (0, "", False, None, [])}


def to_dict(graph: TrackableObjectGraph) -> dict[str, Any]:
    """The graph as ``json_format.MessageToDict(proto, preserving_proto_field_name=True)``
    would render it (defaults omitted, the BoolValue as a bare bool).

    Example:
        >>> to_dict(TrackableObjectGraph([TrackableObject([ObjectReference(1, "a")])]))
        {'nodes': [{'children': [{'node_id': 1, 'local_name': 'a'}]}]}
    """
    nodes = []
    for n in graph.nodes:
        d: dict[str, Any] = {
            "children": [_drop_defaults(vars(c)) for c in n.children],
            "attributes": [_drop_defaults(vars(a)) for a in n.attributes],
            "slot_variables": [_drop_defaults(vars(s)) for s in n.slot_variables],
            "registered_saver": (_drop_defaults(vars(n.registered_saver))
                                 if n.registered_saver is not None else None),
        }
        d = _drop_defaults(d)
        if n.registered_saver is not None:
            d["registered_saver"] = _drop_defaults(vars(n.registered_saver))
        if n.has_checkpoint_values is not None:
            d["has_checkpoint_values"] = n.has_checkpoint_values
        nodes.append(d)
    return {"nodes": nodes} if nodes else {}
