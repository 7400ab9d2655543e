"""``fingerprint.pb``: TensorFlow's ``FingerprintDef`` of a SavedModel, computed, written, read.

TF 2.21 (``cc/saved_model/fingerprinting.cc``, ``CreateFingerprintDefPb``) fingerprints a
SavedModel with FarmHash ``Fingerprint64`` (``farmhash``) of bytes that C++ protobuf serializes
deterministically (``canonical``), combined by ``FingerprintCat64``:

1. ``saved_model_checksum``: the whole ``saved_model.pb``;
2. ``graph_def_program_hash``: the first MetaGraphDef's GraphDef after ``SimpleDelete``: the
   ``f`` of every (Stateful)PartitionedCall loses its uid suffix (``__inference_f_12`` ->
   ``__inference_f_``), its ``config_proto`` is emptied, string Consts lose their value, and
   the function library and ``versions`` are cleared (present and empty);
3. ``signature_def_hash``: per signature, sorted by key, the key then the SignatureDef;
4. ``saved_object_graph_hash``: per concrete function, by the uid its name ends in, the name
   without the uid then the SavedConcreteFunction (a name without a uid is an error, as in TF);
5. ``checkpoint_hash``: ``variables/variables.index``'s bytes (0 without one);

``version.producer`` is 4 (TF 2.21's) and ``uuid`` a random 128-bit number in decimal.
``verify`` recomputes 1 and 5 (``check_fingerprint``). TF 2.12 and 2.15 (producer 1) compute
the same hashes, except that TF 2.12's ``signature_def_hash`` does not hash the keys.

Example:
    >>> fp = Fingerprint(1, 2, 3, 4, 5, uuid="7")
    >>> decode_fingerprint(encode_fingerprint(fp), "fingerprint.pb") == fp
    True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.saved_model import schema as S
from savepoint.saving.formats.saved_model.canonical import canonical, raw_fields
from savepoint.saving.formats.saved_model.farmhash import fingerprint64 as F
from savepoint.saving.formats.saved_model.farmhash import fingerprint_cat64 as cat
from savepoint.saving.formats.tf_checkpoint.proto import (LEN, VARINT, put_int, put_len,
                                                           put_str, read_varint)

FILE_NAME = "fingerprint.pb"
PRODUCER = 4  # the FingerprintDef version TF 2.21 writes
_CALLS = (b"PartitionedCall", b"StatefulPartitionedCall")
_INT64 = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*")


@dataclass
class Fingerprint:
    """The fields of a ``FingerprintDef`` (TF's names)."""

    saved_model_checksum: int = 0
    graph_def_program_hash: int = 0
    signature_def_hash: int = 0
    saved_object_graph_hash: int = 0
    checkpoint_hash: int = 0
    producer: int = PRODUCER
    uuid: str = ""


def suffix_uid(name: bytes) -> Optional[int]:
    """The int64 after a name's last ``_`` (TF's ``GetSuffixUID``), or None.

    Example:
        >>> suffix_uid(b"__inference_f_123"), suffix_uid(b"serving")
        (123, None)
    """
    match = _INT64.fullmatch(name.split(b"_")[-1])
    if match is None:
        return None
    value = int(match.group(1))
    return value if -(1 << 63) <= value < (1 << 63) else None


def _strip_uid(name: bytes, uid: int) -> bytes:
    suffix = str(uid).encode()
    return name[:-len(suffix)] if name.endswith(suffix) else name


def _fields(data: bytes, where: str) -> list[tuple[int, int, bytes, bytes]]:
    return [(n, w, bytes(whole), bytes(body)) for n, w, whole, body in raw_fields(data, where)]


def _first(data: bytes, number: int, where: str) -> Optional[bytes]:
    return next((body for n, w, _, body in _fields(data, where) if n == number and w == LEN),
                None)


def _entry(data: bytes, where: str) -> tuple[bytes, bytes]:
    key = value = b""
    for n, _, _, body in _fields(data, where):
        key, value = (body, value) if n == 1 else (key, body) if n == 2 else (key, value)
    return key, value


def _call_name(attr_value: bytes, where: str) -> bytes:
    """``f``'s AttrValue with the function name's uid stripped."""
    out = bytearray()
    for n, w, whole, body in _fields(attr_value, where):
        if n == S.AttrValue.func and w == LEN:
            inner = bytearray()
            for m, _, w2, b2 in _fields(body, where):
                if m == S.NameAttrList.name:
                    uid = suffix_uid(b2)
                    b2 = _strip_uid(b2, uid) if uid is not None else b2
                    if b2:  # proto3 omits an empty string
                        put_len(inner, m, b2)
                else:
                    inner += w2
            put_len(out, n, bytes(inner))
        else:
            out += whole
    return bytes(out)


def _regularize_node(node: bytes, where: str) -> bytes:
    """TF's ``RegularizeNodes`` on one canonical NodeDef."""
    fields = _fields(node, where)
    op = next((body for n, _, _, body in fields if n == S.NodeDef.op), b"")
    attrs = dict(_entry(body, where) for n, _, _, body in fields if n == S.NodeDef.attr)
    string_const = op == b"Const" and _type_attr(attrs.get(b"dtype", b""), where) == S.DT_STRING
    out = bytearray()
    for n, _, whole, body in fields:
        if n != S.NodeDef.attr:
            out += whole
            continue
        key, value = _entry(body, where)
        if op in _CALLS and key == b"f":
            value = _call_name(value, where)
        elif op in _CALLS and key == b"config_proto":
            value = b"\x12\x00"  # the string case of the oneof, empty
        elif string_const and key == b"value":
            value = b""
        else:
            out += whole
            continue
        entry = bytearray()
        put_len(entry, 1, key)
        put_len(entry, 2, value)
        put_len(out, n, bytes(entry))
    return bytes(out)


def _type_attr(attr_value: bytes, where: str) -> Optional[int]:
    for n, w, _, body in _fields(attr_value, where):
        if n == S.AttrValue.type and w == VARINT:
            return read_varint(body, 0, where)[0]
    return None


def graph_program_hash(graph_def: bytes, where: str = "saved_model.pb") -> int:
    """``Fingerprint64`` of a canonical GraphDef after TF's ``SimpleDelete``.

    Example:
        >>> graph_program_hash(b"") == F(bytes([0x12, 0, 0x22, 0]))
        True
    """
    groups: dict[int, list[bytes]] = {S.GraphDef.library: [b"\x12\x00"],
                                      S.GraphDef.versions: [b"\x22\x00"]}
    for n, _, whole, body in _fields(graph_def, where):
        if n == S.GraphDef.node:
            out = bytearray()
            put_len(out, n, _regularize_node(body, where))
            groups.setdefault(n, []).append(bytes(out))
        elif n not in (S.GraphDef.library, S.GraphDef.versions):
            groups.setdefault(n, []).append(whole)
    return F(b"".join(b"".join(groups[n]) for n in sorted(groups)))


def _signature_hash(entries: list[bytes], where: str) -> int:
    result = 0
    for key, value in sorted(_entry(e, where) for e in entries):
        result = cat(cat(result, F(key)), F(value))
    return result


def _object_graph_hash(object_graph: bytes, where: str) -> int:
    by_uid: dict[int, tuple[bytes, bytes]] = {}
    for n, _, _, body in _fields(object_graph, where):
        if n != S.SavedObjectGraph.concrete_functions:
            continue
        name, value = _entry(body, where)
        uid = suffix_uid(name)
        if uid is None:
            text = name.decode(errors="replace")
            raise FormatError(f"Expected every concrete function name in {where} to end in a "
                              f"uid (TF's fingerprinting). Received {text!r}. Fix: name the "
                              f"function like '__inference_f_123'.")
        by_uid.setdefault(uid, (name, value))  # a repeated uid: the first, as btree insert
    result = 0
    for uid in sorted(by_uid):
        name, value = by_uid[uid]
        result = cat(cat(result, F(_strip_uid(name, uid))), F(value))
    return result


def compute_fingerprint(saved_model: bytes, index: Optional[bytes],
                        where: str = "saved_model.pb", uuid: str = "") -> Fingerprint:
    """The ``FingerprintDef`` TF computes for ``saved_model.pb`` bytes and the bundle's
    ``variables.index`` bytes (None: no variables)."""
    data = canonical("SavedModel", saved_model, where)
    meta = _first(data, S.SavedModel.meta_graphs, where)
    if meta is None:
        raise FormatError(f"Expected a MetaGraphDef in {where}. Received none. Fix: pass an "
                          f"intact SavedModel.")
    fields = _fields(meta, where)
    graph = next((b for n, _, _, b in fields if n == S.MetaGraphDef.graph_def), b"")
    objects = next((b for n, _, _, b in fields if n == S.MetaGraphDef.object_graph_def), b"")
    return Fingerprint(
        saved_model_checksum=F(data), graph_def_program_hash=graph_program_hash(graph, where),
        signature_def_hash=_signature_hash(
            [b for n, _, _, b in fields if n == S.MetaGraphDef.signature_def], where),
        saved_object_graph_hash=_object_graph_hash(objects, where),
        checkpoint_hash=F(index) if index is not None else 0, uuid=uuid)


def encode_fingerprint(fp: Fingerprint) -> bytes:
    """A serialized ``FingerprintDef`` (proto3: zero fields omitted)."""
    out = bytearray()
    for number, value in ((S.FingerprintDef.saved_model_checksum, fp.saved_model_checksum),
                          (S.FingerprintDef.graph_def_program_hash, fp.graph_def_program_hash),
                          (S.FingerprintDef.signature_def_hash, fp.signature_def_hash),
                          (S.FingerprintDef.saved_object_graph_hash, fp.saved_object_graph_hash),
                          (S.FingerprintDef.checkpoint_hash, fp.checkpoint_hash)):
        put_int(out, number, value)
    version = bytearray()
    put_int(version, 1, fp.producer)
    put_len(out, S.FingerprintDef.version, bytes(version))
    if fp.uuid:
        put_str(out, S.FingerprintDef.uuid, fp.uuid)
    return bytes(out)


def decode_fingerprint(data: bytes, where: str) -> Fingerprint:
    """Parse a ``fingerprint.pb``; damage raises ``FormatError``."""
    fp = Fingerprint(producer=0)
    names = {S.FingerprintDef.saved_model_checksum: "saved_model_checksum",
             S.FingerprintDef.graph_def_program_hash: "graph_def_program_hash",
             S.FingerprintDef.signature_def_hash: "signature_def_hash",
             S.FingerprintDef.saved_object_graph_hash: "saved_object_graph_hash",
             S.FingerprintDef.checkpoint_hash: "checkpoint_hash"}
    for n, w, _, body in _fields(data, where):
        if n in names and w == VARINT:
            setattr(fp, names[n], read_varint(body, 0, where)[0])
        elif n == S.FingerprintDef.version and w == LEN:
            for m, w2, _, b2 in _fields(body, where):
                if m == 1 and w2 == VARINT:
                    fp.producer = read_varint(b2, 0, where)[0]
        elif n == S.FingerprintDef.uuid and w == LEN:
            fp.uuid = body.decode("utf-8", errors="replace")
    return fp


def new_uuid() -> str:
    """A random 128-bit number in decimal, as TF's ``CreateRandomUUID`` writes ``uuid``.

    Example:
        >>> new_uuid().isdigit()
        True
    """
    return str(int.from_bytes(os.urandom(16), "little"))


def fingerprint_directory(directory: str) -> Fingerprint:
    """The fingerprint of the SavedModel at ``directory``, with a fresh random uuid."""
    index_path = os.path.join(directory, "variables", "variables.index")
    index = storage.read_bytes(index_path) if storage.exists(index_path) else None
    path = os.path.join(directory, "saved_model.pb")
    return compute_fingerprint(storage.read_bytes(path), index, path,
                               uuid=new_uuid())


def check_fingerprint(directory: str) -> Optional[Fingerprint]:
    """Check ``saved_model.pb`` and ``variables/variables.index`` against the directory's
    ``fingerprint.pb`` (None without one). TF 2.12+ (producer >= 1) checksum the whole
    ``saved_model.pb``; older fingerprints only their graph, which is not checked. The other
    hashes are regularized (they ignore renamings) and not checked either.

    Example:
        >>> check_fingerprint("/nonexistent") is None
        True
    """
    path = os.path.join(directory, FILE_NAME)
    if not storage.exists(path):
        return None
    recorded = decode_fingerprint(storage.read_bytes(path), path)
    index_path = os.path.join(directory, "variables", "variables.index")
    actual = fingerprint_directory(directory)
    checks = [("checkpoint_hash", "variables/variables.index")] if recorded.checkpoint_hash and \
        storage.exists(index_path) else []
    if recorded.producer >= 1:
        checks.insert(0, ("saved_model_checksum", "saved_model.pb"))
    for field, name in checks:
        if getattr(recorded, field) != getattr(actual, field):
            raise FormatError(
                f"Expected {name} in {directory!r} to match the {field} "
                f"{getattr(recorded, field)} of {FILE_NAME}. Received a file whose fingerprint "
                f"is {getattr(actual, field)}: {name} was changed or damaged after the "
                f"SavedModel was written. Fix: restore the directory from an intact copy, or "
                f"save the model again.")
    return recorded


def write_fingerprint(directory: str) -> Fingerprint:
    """Write ``fingerprint.pb`` beside ``saved_model.pb`` and ``variables/``; return it."""
    fp = fingerprint_directory(directory)
    storage.write_bytes_atomically(os.path.join(directory, FILE_NAME), encode_fingerprint(fp))
    return fp


__all__ = ["FILE_NAME", "Fingerprint", "check_fingerprint", "compute_fingerprint", "decode_fingerprint",
           "encode_fingerprint", "fingerprint_directory", "graph_program_hash", "new_uuid",
           "suffix_uid",
           "write_fingerprint"]
