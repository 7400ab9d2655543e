"""Decoding tf-keras's ``keras_metadata.pb`` (``SavedMetadata``): per-node JSON, encodings undone.

``SavedMetadata{nodes: [SavedObject{node_id, node_path, identifier, metadata, version}]}``, where
``node_path`` is ``"root"``, ``"root.layer_with_weights-0"`` ... and ``metadata`` is a JSON string.
tf-keras's JSON writes tuples as ``{"class_name": "__tuple__", "items": [...]}`` and shapes as
``{"class_name": "TensorShape", "items": [...]}``; both come back as plain lists here, so the root
node's ``config`` is exactly the ``model_config`` a Keras 2 ``.h5`` file holds. Every length,
varint, UTF-8 string and JSON text is checked: damage raises ``FormatError`` naming the file.

Example:
    >>> from savepoint.saving.formats.tf_checkpoint.proto import put_len, put_int, put_str
    >>> node = bytearray(); put_int(node, 2, 0); put_str(node, 3, "root")
    >>> put_str(node, 5, '{"shape": {"class_name": "__tuple__", "items": [null, 3]}}')
    >>> data = bytearray(); put_len(data, 1, node)
    >>> nodes = decode_saved_metadata(bytes(data), "keras_metadata.pb")
    >>> nodes[0].node_path, decode_metadata_json(nodes[0].metadata, "root")
    ('root', {'shape': [None, 3]})
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.saved_model.schema import KERAS_METADATA_VERSION
from savepoint.saving.formats.saved_model.schema import KerasSavedObject as F
from savepoint.saving.formats.saved_model.schema import SavedMetadata
from savepoint.saving.formats.tf_checkpoint.proto import (LEN, VARINT, VersionDef, as_text,
                                                          decode_version, expect_wire,
                                                          iter_fields, to_signed)

FILE_NAME = "keras_metadata.pb"
# tf-keras's own configs are a few MB for the largest applications; far beyond means damage.
MAX_BYTES = 256 * 1024 * 1024
_ENCODED = ("__tuple__", "TensorShape")


@dataclass
class MetadataNode:
    """One ``SavedMetadata.SavedObject``: a Keras object of the SavedModel and its JSON."""

    node_id: int = 0
    node_path: str = ""
    identifier: str = ""
    metadata: str = ""
    version: Optional[VersionDef] = None


def decode_saved_metadata(data: bytes, where: str) -> list[MetadataNode]:
    """Parse a serialized ``SavedMetadata``; ``where`` names the file in errors.

    Example:
        >>> decode_saved_metadata(b"\\x0a\\x02\\x1a\\x09", "k.pb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Length-delimited field 3 in k.pb claims 9 bytes ...
    """
    nodes = []
    for num, wt, val in iter_fields(data, where):
        if num != SavedMetadata.nodes:
            continue
        expect_wire(num, wt, LEN, where)
        node = MetadataNode()
        for n, w, v in iter_fields(val, where):  # type: ignore[arg-type]
            if n == F.node_id:
                expect_wire(n, w, VARINT, where)
                node.node_id = to_signed(int(v), 32)
            elif n in (F.node_path, F.identifier, F.metadata):
                expect_wire(n, w, LEN, where)
                name = {F.node_path: "node_path", F.identifier: "identifier",
                        F.metadata: "metadata"}[n]
                setattr(node, name, as_text(v, where))
            elif n == F.version:
                expect_wire(n, w, LEN, where)
                node.version = decode_version(v, where)  # type: ignore[arg-type]
        _check_version(node, where)
        nodes.append(node)
    return nodes


def _check_version(node: MetadataNode, where: str) -> None:
    """tf-keras refuses metadata a newer Keras marked as unreadable by older ones; so do we."""
    producer = KERAS_METADATA_VERSION[0]
    if node.version is not None and node.version.min_consumer > producer:
        raise FormatError(
            f"Expected Keras metadata readable by version {producer} in {where} (node "
            f"{node.node_path!r}). Received min_consumer {node.version.min_consumer}: it was "
            f"written by a newer Keras. Fix: re-save the model as '.h5' or '.keras' with the "
            f"Keras that wrote it.")


def _undo_encodings(obj: dict) -> Any:
    if obj.get("class_name") in _ENCODED and isinstance(obj.get("items"), list) \
            and len(obj) == 2:
        return obj["items"]
    return obj


def decode_metadata_json(text: str, where: str) -> Any:
    """A node's ``metadata`` JSON with tuples and TensorShapes as plain lists.

    Example:
        >>> decode_metadata_json('{"s": {"class_name": "TensorShape", "items": [2]}}', "x")
        {'s': [2]}
        >>> decode_metadata_json("{", "x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Expected JSON in the Keras metadata of x. Received ...
    """
    try:
        return json.loads(text, object_hook=_undo_encodings)
    except (ValueError, RecursionError) as e:
        raise FormatError(f"Expected JSON in the Keras metadata of {where}. Received unreadable "
                          f"text ({type(e).__name__}: {str(e)[:200]}). The SavedModel is damaged. "
                          f"Fix: re-save it from tf.keras.") from None


def read_keras_metadata(path: str) -> list[MetadataNode]:
    """The nodes of the ``keras_metadata.pb`` file at ``path``.

    Example:
        >>> read_keras_metadata("/nonexistent/keras_metadata.pb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    size = storage.file_size(path)
    if size > MAX_BYTES:
        raise FormatError(f"Expected at most {MAX_BYTES} bytes of Keras metadata in {path!r}. "
                          f"Received {size}. The file is damaged or not tf-keras's. Fix: re-save "
                          f"the model from tf.keras.")
    return decode_saved_metadata(storage.read_bytes(path), path)


def root_metadata(nodes: list[MetadataNode], where: str) -> dict:
    """The decoded JSON of the ``root`` node: ``class_name``, ``config``, ``training_config``...

    Example:
        >>> root_metadata([], "k.pb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        savepoint.errors.FormatError: Expected a 'root' node in the Keras metadata k.pb. ...
    """
    roots = [n for n in nodes if n.node_path == "root"]
    if not roots:
        raise FormatError(f"Expected a 'root' node in the Keras metadata {where}. Received "
                          f"{len(nodes)} nodes, none of them the root. The SavedModel is damaged. "
                          f"Fix: re-save it from tf.keras.")
    meta = decode_metadata_json(roots[0].metadata, where)
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise FormatError(f"Expected the root node of {where} to hold a JSON object with a "
                          f"'config' object. Received {type(meta).__name__}"
                          f"{'' if not isinstance(meta, dict) else ' without one'}. Fix: re-save "
                          f"the model from tf.keras (a model that is not a Keras Model, or a "
                          f"subclassed one without get_config, has no config to rebuild from).")
    return meta


__all__ = ["FILE_NAME", "MetadataNode", "decode_metadata_json", "decode_saved_metadata",
           "read_keras_metadata", "root_metadata"]
