"""Decoding the little of ``saved_model.pb`` a reader needs: tags, signatures, the object root.

savepoint never runs the graph: it rebuilds Keras models from ``keras_metadata.pb``. This module
reads ``SavedModel{saved_model_schema_version, meta_graphs}`` and, of each ``MetaGraphDef``, the
``meta_info_def.tags``, every ``signature_def`` (name, method, inputs and outputs with dtype and
shape: what an error about a SavedModel without Keras metadata lists) and the object graph's node
count and root (identifier ``_tf_keras_sequential``, ``_generic_user_object`` ...; and the Keras
JSON that TF before 2.5 kept in the root's deprecated ``metadata`` field). The graph and
its functions are skipped, but every length on the way is checked (``proto.iter_fields``), so a
truncated or garbled file raises ``FormatError``.

Example:
    >>> from savepoint.saving.formats.tf_checkpoint.proto import put_len, put_int, put_str
    >>> info = bytearray(); put_str(info, 4, "serve")
    >>> meta = bytearray(); put_len(meta, 1, info)
    >>> data = bytearray(); put_int(data, 1, 1); put_len(data, 2, meta)
    >>> summary = decode_saved_model(bytes(data), "saved_model.pb")
    >>> summary.schema_version, summary.meta_graphs[0].tags
    (1, ['serve'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.saved_model import schema as S
from savepoint.saving.formats.tf_checkpoint import dtypes
from savepoint.saving.formats.tf_checkpoint.proto import (LEN, VARINT, Buffer, as_text,
                                                          decode_shape, expect_wire,
                                                          iter_fields, to_signed)

FILE_NAME = "saved_model.pb"
# TensorFlow refuses a saved_model.pb over 2 GB (protobuf's limit) unless it is split
MAX_BYTES = (1 << 31) - 1


@dataclass
class TensorInfo:
    """A signature input or output: graph tensor ``name``, ``dtype`` name and ``shape`` (None
    for an unknown rank, -1 for an unknown dimension)."""

    name: str = ""
    dtype: str = ""
    shape: Optional[list[int]] = None

    def describe(self) -> str:
        """``float32[-1, 3]``-style text for error messages.

        Example:
            >>> TensorInfo("x:0", "float32", [-1, 3]).describe()
            'float32[-1, 3]'
        """
        return f"{self.dtype or '?'}{'[?]' if self.shape is None else self.shape}"


@dataclass
class Signature:
    """One ``signature_def`` entry."""

    name: str = ""
    method_name: str = ""
    inputs: dict[str, TensorInfo] = field(default_factory=dict)
    outputs: dict[str, TensorInfo] = field(default_factory=dict)

    def describe(self) -> str:
        """``name(inputs) -> outputs``.

        Example:
            >>> Signature("serving_default", inputs={"x": TensorInfo("x:0", "float32", [-1])},
            ...           outputs={}).describe()
            'serving_default(x: float32[-1]) -> ()'
        """
        def part(items: dict[str, TensorInfo]) -> str:
            return ", ".join(f"{k}: {v.describe()}" for k, v in sorted(items.items()))
        return f"{self.name}({part(self.inputs)}) -> ({part(self.outputs)})"


@dataclass
class MetaGraph:
    """What savepoint reads of one ``MetaGraphDef``."""

    tags: list[str] = field(default_factory=list)
    signatures: dict[str, Signature] = field(default_factory=dict)
    n_objects: int = 0
    root_identifier: str = ""
    root_metadata: str = ""  # Keras JSON kept here by TF < 2.5 (before keras_metadata.pb)


@dataclass
class SavedModelSummary:
    """The decoded ``SavedModel``."""

    schema_version: int = 0
    meta_graphs: list[MetaGraph] = field(default_factory=list)

    def signatures(self) -> list[Signature]:
        """Every signature of every meta graph, by name.

        Example:
            >>> SavedModelSummary().signatures()
            []
        """
        found = [s for g in self.meta_graphs for s in g.signatures.values()]
        return sorted(found, key=lambda s: s.name)


def _text(num: int, wt: int, val: object, where: str) -> str:
    expect_wire(num, wt, LEN, where)
    return as_text(val, where)  # type: ignore[arg-type]


def _tensor_info(data: Buffer, where: str) -> TensorInfo:
    info = TensorInfo()
    for num, wt, val in iter_fields(data, where):
        if num == S.TensorInfo.name:
            info.name = _text(num, wt, val, where)
        elif num == S.TensorInfo.dtype:
            expect_wire(num, wt, VARINT, where)
            number = to_signed(int(val), 32)
            info.dtype = dtypes.dtype_name(number) if dtypes.is_known(number) else \
                {S.DT_RESOURCE: "resource"}.get(number, f"dtype {number}")
        elif num == S.TensorInfo.tensor_shape:
            expect_wire(num, wt, LEN, where)
            dims, unknown = decode_shape(val, where)  # type: ignore[arg-type]
            info.shape = None if unknown else list(dims)
    return info


def _map_entry(data: Buffer, where: str) -> tuple[str, Optional[memoryview]]:
    key, value = "", None
    for num, wt, val in iter_fields(data, where):
        if num == S.MapEntry.key:
            key = _text(num, wt, val, where)
        elif num == S.MapEntry.value:
            expect_wire(num, wt, LEN, where)
            value = val  # type: ignore[assignment]
    return key, value


def _signature(name: str, data: Buffer, where: str) -> Signature:
    sig = Signature(name=name)
    inner = f"{where} (signature {name!r})"
    for num, wt, val in iter_fields(data, inner):
        if num in (S.SignatureDef.inputs, S.SignatureDef.outputs):
            expect_wire(num, wt, LEN, inner)
            key, value = _map_entry(val, inner)  # type: ignore[arg-type]
            info = _tensor_info(value if value is not None else b"", inner)
            (sig.inputs if num == S.SignatureDef.inputs else sig.outputs)[key] = info
        elif num == S.SignatureDef.method_name:
            sig.method_name = _text(num, wt, val, inner)
    return sig


def _root_user_object(data: Buffer, where: str) -> tuple[str, str]:
    """``(identifier, metadata)`` of the object graph's node 0 if it is a ``user_object``."""
    identifier = metadata = ""
    for num, wt, val in iter_fields(data, where):
        if num == S.SavedObject.user_object:
            expect_wire(num, wt, LEN, where)
            for n, w, v in iter_fields(val, where):  # type: ignore[arg-type]
                if n == S.SavedUserObject.identifier:
                    identifier = _text(n, w, v, where)
                elif n == S.SavedUserObject.metadata:
                    metadata = _text(n, w, v, where)
    return identifier, metadata


def _meta_graph(data: Buffer, where: str) -> MetaGraph:
    graph = MetaGraph()
    for num, wt, val in iter_fields(data, where):
        if num == S.MetaGraphDef.meta_info_def:
            expect_wire(num, wt, LEN, where)
            graph.tags += [_text(n, w, v, where) for n, w, v in iter_fields(val, where)
                           if n == S.MetaInfoDef.tags]  # type: ignore[arg-type]
        elif num == S.MetaGraphDef.signature_def:
            expect_wire(num, wt, LEN, where)
            key, value = _map_entry(val, where)  # type: ignore[arg-type]
            graph.signatures[key] = _signature(key, value if value is not None else b"", where)
        elif num == S.MetaGraphDef.object_graph_def:
            expect_wire(num, wt, LEN, where)
            for n, w, v in iter_fields(val, where):  # type: ignore[arg-type]
                if n == S.SavedObjectGraph.nodes:
                    expect_wire(n, w, LEN, where)
                    if graph.n_objects == 0:
                        graph.root_identifier, graph.root_metadata = _root_user_object(v, where)
                    graph.n_objects += 1
        elif num == S.MetaGraphDef.graph_def:
            expect_wire(num, wt, LEN, where)
    return graph


def decode_saved_model(data: Buffer, where: str) -> SavedModelSummary:
    """Parse a serialized ``SavedModel``; ``where`` names the file in errors.

    Example:
        >>> decode_saved_model(b"\\x12\\x08\\x0a", "saved_model.pb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Length-delimited field 2 in saved_model.pb claims 8 bytes ...
    """
    summary = SavedModelSummary()
    for num, wt, val in iter_fields(data, where):
        if num == S.SavedModel.saved_model_schema_version:
            expect_wire(num, wt, VARINT, where)
            summary.schema_version = to_signed(int(val))
        elif num == S.SavedModel.meta_graphs:
            expect_wire(num, wt, LEN, where)
            summary.meta_graphs.append(_meta_graph(val, where))  # type: ignore[arg-type]
    if not summary.meta_graphs:
        raise FormatError(f"Expected at least one MetaGraphDef in {where}. Received none: the "
                          f"file is empty, truncated or not a SavedModel. Fix: re-save the model "
                          f"with TensorFlow.")
    return summary


def read_saved_model(path: str) -> SavedModelSummary:
    """The decoded ``saved_model.pb`` at ``path``.

    Example:
        >>> read_saved_model("/nonexistent/saved_model.pb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    size = storage.file_size(path)
    if size > MAX_BYTES:
        raise FormatError(f"Expected at most {MAX_BYTES} bytes in {path!r} (protobuf's limit). "
                          f"Received {size}. Fix: pass an intact SavedModel.")
    return decode_saved_model(storage.read_bytes(path), path)


__all__ = ["FILE_NAME", "MetaGraph", "SavedModelSummary", "Signature", "TensorInfo",
           "decode_saved_model", "read_saved_model"]
