"""Deterministic re-serialization of SavedModel protos: the bytes TF's C++ fingerprints.

TensorFlow fingerprints a SavedModel (``fingerprint.pb``) by parsing ``saved_model.pb`` and
serializing it again with C++ protobuf's deterministic serializer: fields in field-number order,
every map's entries sorted by key (strings bytewise, integers numerically) with both the key and
the value written, even when they are defaults. tf.keras's Python writer does not sort integer
map keys (a FunctionDef's ``arg_attr``), so the file's bytes are not what TF hashes.

``canonical(message, data)`` rewrites ``data`` (a serialized ``message``) that way without a
schema of every message: ``MAP_PATHS`` (generated from TF 2.21's descriptors) names, for every
message on a path from ``SavedModel`` to a map, its map fields (key kind, value message) and
the sub-messages that lead to more maps. Every other field is copied byte for byte: TF's own
writers and savepoint's encoder already write those canonically (proto3 defaults omitted,
repeated scalars packed).

Example:
    >>> entry = lambda k, v: bytes([0x0a, 1]) + k + bytes([0x12, len(v)]) + v
    >>> sig = bytes([0x0a, 5]) + entry(b"y", b"") + bytes([0x0a, 5]) + entry(b"x", b"")
    >>> canonical("SignatureDef", sig) == bytes([0x0a, 5]) + entry(b"x", b"") + sig[:7]
    True
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint.proto import (FIXED32, FIXED64, LEN, VARINT,
                                                           Buffer, put_len, put_tag,
                                                           read_varint)

Map = tuple[str, str, Optional[str], int]  # ("map", key kind, value message, value wire type)

# message -> {field number: sub-message name, or a map}; from the descriptors of TF 2.21's
# saved_model.proto and everything it imports (struct.proto's ListValue is ``StructListValue``
# here, attr_value.proto's is ``ListValue``)
MAP_PATHS: dict[str, dict[int, Union[str, Map]]] = {
    "ArgAttrs": {1: ("map", "str", "AttrValue", LEN)},
    "AssetFileDef": {1: "TensorInfo"},
    "AttrDef": {3: "AttrValue", 7: "AttrValue"},
    "AttrValue": {1: "ListValue", 10: "NameAttrList"},
    "CompositeTensor": {1: "TypeSpecProto", 2: "TensorInfo"},
    "DictValue": {1: ("map", "str", "StructuredValue", LEN)},
    "FunctionDef": {1: "OpDef", 3: "NodeDef", 4: ("map", "str", None, LEN),
                    5: ("map", "str", "AttrValue", LEN), 6: ("map", "str", None, LEN),
                    7: ("map", "varint", "ArgAttrs", LEN), 8: ("map", "varint", None, VARINT)},
    "FunctionDefLibrary": {1: "FunctionDef"},
    "FunctionSpec": {1: "StructuredValue", 5: "StructuredValue"},
    "GraphDebugInfo": {2: ("map", "str", None, LEN), 4: ("map", "fixed64", None, LEN),
                       5: ("map", "str", None, FIXED64), 6: ("map", "fixed64", None, LEN)},
    "GraphDef": {1: "NodeDef", 2: "FunctionDefLibrary", 5: "GraphDebugInfo"},
    "ListValue": {9: "NameAttrList"},
    "MetaGraphDef": {1: "MetaInfoDef", 2: "GraphDef", 4: ("map", "str", None, LEN),
                     5: ("map", "str", "SignatureDef", LEN), 6: "AssetFileDef",
                     7: "SavedObjectGraph"},
    "MetaInfoDef": {2: "OpList", 8: ("map", "str", None, LEN)},
    "NameAttrList": {2: ("map", "str", "AttrValue", LEN)},
    "NamedTupleValue": {2: "PairValue"},
    "NodeDef": {5: ("map", "str", "AttrValue", LEN)},
    "OpDef": {4: "AttrDef"},
    "OpList": {1: "OpDef"},
    "PairValue": {2: "StructuredValue"},
    "SavedBareConcreteFunction": {4: "FunctionSpec"},
    "SavedConcreteFunction": {3: "StructuredValue", 4: "StructuredValue"},
    "SavedFunction": {2: "FunctionSpec"},
    "SavedModel": {2: "MetaGraphDef"},
    "SavedObject": {6: "SavedFunction", 8: "SavedBareConcreteFunction",
                    11: ("map", "str", None, LEN)},
    "SavedObjectGraph": {1: "SavedObject", 2: ("map", "str", "SavedConcreteFunction", LEN)},
    "SignatureDef": {1: ("map", "str", "TensorInfo", LEN), 2: ("map", "str", "TensorInfo", LEN),
                     4: ("map", "str", None, LEN)},
    "StructListValue": {1: "StructuredValue"},
    "StructuredValue": {34: "TypeSpecProto", 51: "StructListValue", 52: "TupleValue",
                        53: "DictValue", 54: "NamedTupleValue"},
    "TensorInfo": {5: "CompositeTensor"},
    "TupleValue": {1: "StructuredValue"},
    "TypeSpecProto": {2: "StructuredValue"},
}


def raw_fields(data: Buffer, where: str) -> Iterator[tuple[int, int, memoryview, memoryview]]:
    """Yield ``(number, wire_type, whole field bytes, payload)`` of each field of ``data``
    (for a varint the payload is the varint's bytes).

    Example:
        >>> [(n, w, bytes(f), bytes(p)) for n, w, f, p in raw_fields(b"\\x08\\x05", "demo")]
        [(1, 0, b'\\x08\\x05', b'\\x05')]
    """
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data
    pos, end = 0, len(view)
    while pos < end:
        start = pos
        key, pos = read_varint(view, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FormatError(f"Expected a protobuf field number in {where}. Received 0 at "
                              f"offset {start}: the file is damaged. Fix: re-save the model.")
        body = pos
        if wire == VARINT:
            _, pos = read_varint(view, pos, where)
        elif wire in (FIXED32, FIXED64):
            pos += 4 if wire == FIXED32 else 8
        elif wire == LEN:
            length, body = read_varint(view, pos, where)
            pos = body + length
        else:
            raise FormatError(f"Expected protobuf wire type 0, 1, 2 or 5 in {where}. Received "
                              f"{wire} (field {number}): the file is damaged. Fix: re-save it.")
        if pos > end:
            raise FormatError(f"Expected field {number} in {where} to end within the data. "
                              f"Received a truncated field at offset {start}. Fix: re-save it.")
        yield number, wire, view[start:pos], view[body:pos]


def _put_default(out: bytearray, number: int, wire: int) -> None:
    """A scalar default, written as C++ writes a map entry's missing key or value."""
    put_tag(out, number, wire)
    out += {VARINT: b"\x00", FIXED64: bytes(8), LEN: b"\x00"}[wire]


def _map_entry(spec: Map, payload: memoryview, where: str) -> tuple[tuple, bytes]:
    """``(sort key, canonical entry)``: the key then the value, both always written."""
    _, key_kind, value_type, value_wire = spec
    key = value = None
    for number, _, whole, body in raw_fields(payload, where):
        if number == 1:
            key = (whole, body)
        elif number == 2:
            value = (whole, body)
    out = bytearray()
    key_wire = {"str": LEN, "varint": VARINT, "fixed64": FIXED64}[key_kind]
    if key is None:
        _put_default(out, 1, key_wire)
        sort_key: tuple = (b"",) if key_kind == "str" else (0,)
    else:
        out += key[0]
        sort_key = (bytes(key[1]),) if key_kind == "str" else \
            (read_varint(key[1], 0, where)[0],) if key_kind == "varint" else \
            (int.from_bytes(key[1], "little"),)
    if value_type is not None:
        put_len(out, 2, canonical(value_type, value[1] if value else b"", where))
    elif value is not None:
        out += value[0]
    else:
        _put_default(out, 2, value_wire)
    return sort_key, bytes(out)


def canonical(message: str, data: Buffer, where: str = "saved_model.pb") -> bytes:
    """``data`` (a serialized ``message``) as C++ protobuf's deterministic serializer writes it.

    Example:
        >>> canonical("NodeDef", b"\\x12\\x02Op\\x0a\\x01n")
        b'\\n\\x01n\\x12\\x02Op'
    """
    spec = MAP_PATHS.get(message)
    if spec is None:
        return bytes(data)
    groups: dict[int, list[bytes]] = {}
    for number, wire, whole, body in raw_fields(data, where):
        kind = spec.get(number)
        if kind is None or wire != LEN:
            groups.setdefault(number, []).append(bytes(whole))
        elif isinstance(kind, str):
            out = bytearray()
            put_len(out, number, canonical(kind, body, where))
            groups.setdefault(number, []).append(bytes(out))
        else:
            groups.setdefault(number, []).append(_map_entry(kind, body, where))  # type: ignore
    out = bytearray()
    for number in sorted(groups):
        kind = spec.get(number)
        if isinstance(kind, tuple):
            entries = {}
            for key, entry in groups[number]:  # type: ignore[misc]
                entries[key] = entry  # a repeated key: the last one wins, as when parsing
            for key in sorted(entries):
                put_len(out, number, entries[key])
        else:
            out += b"".join(groups[number])
    return bytes(out)


__all__ = ["MAP_PATHS", "canonical", "raw_fields"]
