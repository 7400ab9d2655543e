"""The records ``encode`` turns into SavedModel protobuf bytes: plain dataclasses for NodeDefs,
FunctionDefs, signatures, the SavedObjectGraph's nodes and tf-keras's SavedMetadata entries.

The lowering and the SavedModel handler fill them; nothing here knows bytes or a model.

Example:
    >>> Attr("type", 1).kind, NodeDef("x", "Placeholder").op
    ('type', 'Placeholder')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from savepoint.saving.formats.saved_model import schema as S

Shape = Optional[tuple]  # dims with -1 (or None) for unknown; None itself is an unknown rank


@dataclass
class Attr:
    """One AttrValue: ``kind`` is the OpDef attr type (``type``, ``int``, ``float``, ``bool``,
    ``string``, ``shape``, ``tensor``, ``func``, ``list(int)``, ``list(type)``, ``list(string)``,
    ``list(shape)``) and decides the field, so a value never lands in the wrong one."""

    kind: str
    value: Any


@dataclass
class Tensor:
    """A TensorProto: ``content`` is the raw little-endian bytes, or ``strings`` for DT_STRING."""

    dtype: int
    shape: tuple
    content: bytes = b""
    strings: list[bytes] = field(default_factory=list)


@dataclass
class NodeDef:
    """A node of a graph or function body; ``inputs`` are edge names (``^name`` for control)."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Attr] = field(default_factory=dict)


@dataclass
class FunctionDef:
    """A function: typed input/output args (``(name, dtype)``), body nodes, ``ret`` mapping each
    output arg to ``node:out_arg:index``."""

    name: str
    inputs: list[tuple[str, int]]
    outputs: list[tuple[str, int]]
    nodes: list[NodeDef]
    ret: dict[str, str]
    is_stateful: bool = True


@dataclass
class TensorSpec:
    """A ``tf.TensorSpec`` inside a StructuredValue."""

    name: str
    shape: Shape
    dtype: int


@dataclass
class TensorInfo:
    """A signature's input or output: graph tensor ``name`` (``node:index``), dtype, shape."""

    name: str
    dtype: int
    shape: Shape


@dataclass
class Signature:
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    method_name: str = S.PREDICT_METHOD


@dataclass
class Saver:
    filename_tensor_name: str
    save_tensor_name: str
    restore_op_name: str


@dataclass
class UserObject:
    identifier: str
    version: tuple[int, int] = (1, 1)
    metadata: str = ""
    has_version: bool = True


@dataclass
class SavedVariable:
    dtype: int
    shape: tuple
    trainable: bool
    name: str


@dataclass
class BareConcreteFunction:
    concrete_function_name: str
    argument_keywords: list[str]
    allowed_positional_arguments: int = 0


@dataclass
class ObjectNode:
    """A SavedObjectGraph node: ``children`` are ``(local_name, node_id)``; ``kind`` one of the
    three object kinds a Keras SavedModel needs."""

    children: list[tuple[str, int]]
    kind: Union[UserObject, SavedVariable, BareConcreteFunction]


@dataclass
class ConcreteFunction:
    """``SavedConcreteFunction``: variable node ids fed to the function, and its signatures as
    Python structures (tuples, dicts, ``TensorSpec``)."""

    bound_inputs: list[int]
    input_signature: Any
    output_signature: Any


@dataclass
class MetaGraph:
    """Everything of the one ``serve`` MetaGraphDef."""

    nodes: list[NodeDef]
    functions: list[FunctionDef]
    saver: Optional[Saver]   # None: no variables to restore in the TF1 graph (no signature)
    signatures: dict[str, Signature]
    objects: list[ObjectNode]
    concrete_functions: dict[str, ConcreteFunction]
    tags: tuple[str, ...] = ("serve",)
    tensorflow_version: str = "2.21.0"


@dataclass
class KerasNode:
    """One ``SavedMetadata`` entry: the object ``node_id`` at ``node_path`` and its JSON."""

    node_id: int
    node_path: str
    identifier: str
    metadata: str


__all__ = ["Attr", "BareConcreteFunction", "ConcreteFunction", "FunctionDef", "KerasNode", "MetaGraph", "NodeDef", "ObjectNode", "SavedVariable", "Saver", "Shape", "Signature", "Tensor", "TensorInfo", "TensorSpec", "UserObject"]
