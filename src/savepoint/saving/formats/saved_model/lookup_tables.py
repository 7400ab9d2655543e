"""The vocabularies of adapted tf.keras lookup layers, read from a SavedModel's graph.

tf.keras 2 saves an adapted ``StringLookup``/``IntegerLookup``/``TextVectorization`` with
``vocabulary: null`` in its config: the vocabulary is the ``KeyValueTensorInitializer`` of the
layer's ``lookup_table`` (a ``StaticHashTable``). In the SavedModel that table is a ``resource``
object whose ``_initialize`` function's concrete function captures, in order, the table, the keys
and the values; the keys and values are ``constant`` objects naming ``Const`` nodes of the
MetaGraphDef's graph, whose ``value`` holds the tensors. ``table_contents(data, node_id,
children)`` follows that path from a layer's object-graph node (``children``: the child names to
walk first, ``["_lookup_layer"]`` for a TextVectorization) and returns ``(keys, values)``.
Nothing is run: only constants are read.

Example:
    >>> from savepoint.saving.formats.tf_checkpoint.proto import put_len, put_str
    >>> t = bytearray(); put_str(t, 8, "a"); put_str(t, 8, "b")
    >>> decode_tensor(bytes([0x08, 7]) + bytes(t), "demo")
    ['a', 'b']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving.formats.saved_model import schema as S
from savepoint.saving.formats.saved_model.canonical import raw_fields
from savepoint.saving.formats.tf_checkpoint import dtypes
from savepoint.saving.formats.tf_checkpoint.proto import (LEN, VARINT, decode_shape,
                                                           read_varint, to_signed)

_INT64_VAL, _INT_VAL = 10, 7  # TensorProto's typed value fields savepoint reads
_FN_CONCRETE = 1              # SavedFunction.concrete_functions
_CONSTANT_OPERATION = 1       # SavedConstant.operation
_KINDS = range(4, 13)         # SavedObject's oneof kind: user_object ... captured_tensor


@dataclass
class _Object:
    children: dict[str, int] = field(default_factory=dict)
    kind: int = 0
    body: bytes = b""


def _fields(data: Any, where: str) -> list[tuple[int, int, bytes]]:
    return [(n, w, bytes(body)) for n, w, _, body in raw_fields(data, where)]


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _packed_ints(wire: int, body: bytes, where: str) -> list[int]:
    if wire == VARINT:
        return [read_varint(body, 0, where)[0]]
    values, pos = [], 0
    while pos < len(body):
        value, pos = read_varint(body, pos, where)
        values.append(value)
    return values


def decode_tensor(data: bytes, where: str) -> Any:
    """A ``TensorProto`` of strings (a list of str) or integers (a flat numpy array)."""
    dtype, content, strings, ints = 0, None, [], []
    for n, w, body in _fields(data, where):
        if n == S.TensorProto.dtype and w == VARINT:
            dtype = read_varint(body, 0, where)[0]
        elif n == S.TensorProto.tensor_content and w == LEN:
            content = body
        elif n == S.TensorProto.string_val and w == LEN:
            strings.append(_text(body))
        elif n in (_INT64_VAL, _INT_VAL):
            ints += [to_signed(v) for v in _packed_ints(w, body, where)]
        elif n == S.TensorProto.tensor_shape and w == LEN:
            decode_shape(body, where)  # checked, not needed: the values are flat
    if dtype == S.DT_STRING:
        return strings
    if dtype not in (S.DT_INT32, S.DT_INT64):
        raise FormatError(f"Expected a string or integer vocabulary tensor in {where}. Received "
                          f"dtype {dtypes.dtype_name(dtype) if dtypes.is_known(dtype) else dtype}."
                          f" Fix: re-save the layer with vocabulary=layer.get_vocabulary().")
    np_dtype = np.int64 if dtype == S.DT_INT64 else np.int32
    if content is not None:
        return np.frombuffer(content, np_dtype).astype(np.int64)
    return np.array(ints, np.int64)


class SavedModelGraph:
    """The object graph, concrete functions and Const nodes of ``saved_model.pb``'s first
    MetaGraphDef, decoded lazily from the bytes."""

    def __init__(self, data: bytes, where: str):
        self.where = where
        meta = next((b for n, w, b in _fields(data, where)
                     if n == S.SavedModel.meta_graphs and w == LEN), b"")
        self.objects: list[_Object] = []
        self.functions: dict[str, list[int]] = {}
        self._graph = b""
        for n, w, body in _fields(meta, where):
            if n == S.MetaGraphDef.graph_def and w == LEN:
                self._graph = body
            elif n == S.MetaGraphDef.object_graph_def and w == LEN:
                self._object_graph(body)

    def _object_graph(self, data: bytes) -> None:
        for n, w, body in _fields(data, self.where):
            if n == S.SavedObjectGraph.nodes and w == LEN:
                obj = _Object()
                for m, w2, b2 in _fields(body, self.where):
                    if m == S.SavedObject.children and w2 == LEN:
                        ref = dict((k, v) for k, _, v in _fields(b2, self.where))
                        obj.children[_text(ref.get(S.ObjectReference.local_name, b""))] = \
                            read_varint(ref.get(S.ObjectReference.node_id, b"\0"), 0,
                                        self.where)[0]
                    elif m in _KINDS and w2 == LEN:
                        obj.kind, obj.body = m, b2
                self.objects.append(obj)
            elif n == S.SavedObjectGraph.concrete_functions and w == LEN:
                entry = {k: v for k, _, v in _fields(body, self.where)}
                bound: list[int] = []
                for m, w2, b2 in _fields(entry.get(S.MapEntry.value, b""), self.where):
                    if m == S.SavedConcreteFunction.bound_inputs:
                        bound += _packed_ints(w2, b2, self.where)
                self.functions[_text(entry.get(S.MapEntry.key, b""))] = bound

    def child(self, node_id: int, name: str) -> int:
        """The node id of ``name`` under ``node_id``; a missing one raises ``FormatError``."""
        known = self.objects[node_id].children if 0 <= node_id < len(self.objects) else {}
        if name not in known:
            raise FormatError(f"Expected object {node_id} of {self.where} to have a child "
                              f"{name!r} (a tf.keras lookup layer's table). Received the "
                              f"children {sorted(known)}. Fix: re-save the layer with "
                              f"vocabulary=layer.get_vocabulary().")
        return self.objects[node_id].children[name]

    def constant(self, node_id: int) -> Any:
        """The tensor of a ``constant`` object: its Const node's ``value`` in the graph."""
        obj = self.objects[node_id] if 0 <= node_id < len(self.objects) else _Object()
        if obj.kind != S.SavedObject.constant:
            raise FormatError(f"Expected object {node_id} of {self.where} to be a constant (a "
                              f"lookup table's keys or values). Received another kind of object."
                              f" Fix: re-save the layer with vocabulary=layer.get_vocabulary().")
        operation = _text(next((b for n, _, b in _fields(obj.body, self.where)
                                if n == _CONSTANT_OPERATION), b""))
        for n, w, node in _fields(self._graph, self.where):
            if n != S.GraphDef.node or w != LEN:
                continue
            parts = _fields(node, self.where)
            if _text(next((b for m, _, b in parts if m == S.NodeDef.name), b"")) != operation:
                continue
            for m, _, entry in parts:
                kv = {k: v for k, _, v in _fields(entry, self.where)} if m == S.NodeDef.attr \
                    else {}
                if kv.get(S.MapEntry.key) == b"value":
                    tensor = next((b for k, _, b in _fields(kv.get(S.MapEntry.value, b""),
                                                            self.where)
                                   if k == S.AttrValue.tensor), b"")
                    return decode_tensor(tensor, f"{self.where} (Const {operation!r})")
        raise FormatError(f"Expected a Const node {operation!r} in the graph of {self.where}. "
                          f"Received none: the file is damaged. Fix: re-save the model.")


def table_contents(graph: SavedModelGraph, node_id: int,
                   path: Optional[list[str]] = None) -> tuple[Any, Any]:
    """``(keys, values)`` of the lookup table under the object ``node_id`` (after walking the
    child names in ``path``)."""
    for name in (path or []) + ["lookup_table", "_initialize"]:
        node_id = graph.child(node_id, name)
    function = graph.objects[node_id]
    names = [_text(b) for n, _, b in _fields(function.body, graph.where) if n == _FN_CONCRETE] \
        if function.kind == S.SavedObject.function else []
    bound = graph.functions.get(names[0], []) if names else []
    if len(bound) != 3:
        raise FormatError(f"Expected the lookup table initializer of object {node_id} in "
                          f"{graph.where} to capture the table, its keys and its values. "
                          f"Received {len(bound)} captured objects. Fix: re-save the layer "
                          f"with vocabulary=layer.get_vocabulary().")
    return graph.constant(bound[1]), graph.constant(bound[2])


__all__ = ["SavedModelGraph", "decode_tensor", "table_contents"]
