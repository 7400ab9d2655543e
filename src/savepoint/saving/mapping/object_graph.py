"""What a checkpoint holds: the object tree of a model/optimizer, named as TensorFlow names it.

Objects describe their children with ``_trackable_children() -> [(local_name, child)]``; a child
is another such object or a ``Variable`` (a leaf holding one tensor). Walking the tree breadth
first gives every variable the key TensorFlow gives it (``layer_with_weights-0/kernel/.ATTRIBUTES/
VARIABLE_VALUE``) and the ``TrackableObjectGraph`` that lets TensorFlow restore by object.
Restoring walks our tree and the checkpoint's graph together by local names, as TensorFlow does,
so names never have to be guessed from keys.

Example:
    >>> import torch
    >>> from savepoint.layers.variable import Variable
    >>> from savepoint.trackable import TrackableList
    >>> root = TrackableList([Variable(torch.zeros(2), name="w", path="w")])
    >>> [key for key, _ in collect(root).keyed_variables]
    ['0/.ATTRIBUTES/VARIABLE_VALUE']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from savepoint.layers.variable import Variable
from savepoint.trackable import Placeholder, TrackableList  # noqa: F401 (re-exported)
from savepoint.saving.formats.tf_checkpoint import object_graph as og

ATTRIBUTE = "VARIABLE_VALUE"


def escape(name: str) -> str:
    """TensorFlow's escaping of a local name inside a checkpoint key."""
    return name.replace(".", "..").replace("/", ".S")


def node_key(obj: Any) -> int:
    """Identity of a node: variables by their tensor (fresh handles may wrap the same one); a
    wrapper may stand for another object through ``_trackable_identity``."""
    if isinstance(obj, Variable):
        return id(obj.value)
    return id(getattr(obj, "_trackable_identity", obj))


def children_of(obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, Variable):
        return []
    method = getattr(obj, "_trackable_children", None)
    return list(method()) if method is not None else []


@dataclass
class Collected:
    """The breadth-first walk of a tree: nodes in id order and each variable with its key."""

    objects: list[Any] = field(default_factory=list)
    graph: og.TrackableObjectGraph = field(default_factory=og.TrackableObjectGraph)
    keyed_variables: list[tuple[str, Variable]] = field(default_factory=list)


def collect(root: Any) -> Collected:
    """Number the nodes breadth first and key every variable by its first path, as TF does."""
    out = Collected(objects=[root])
    ids = {node_key(root): 0}
    paths: dict[int, list[str]] = {0: []}
    queue = [root]
    while queue:
        obj = queue.pop(0)
        node = og.TrackableObject()
        my_id = ids[node_key(obj)]
        for name, child in children_of(obj):
            key = node_key(child)
            if key not in ids:
                ids[key] = len(out.objects)
                out.objects.append(child)
                paths[ids[key]] = paths[my_id] + [escape(name)]
                queue.append(child)
            node.children.append(og.ObjectReference(ids[key], name))
        if isinstance(obj, Variable):
            ckpt_key = "/".join(paths[my_id] + [".ATTRIBUTES", ATTRIBUTE])
            node.attributes.append(og.SerializedTensor(ATTRIBUTE, obj.path, ckpt_key))
            out.keyed_variables.append((ckpt_key, obj))
        out.graph.nodes.append(node)
    mark_checkpoint_values(out.graph)
    return out


def mark_checkpoint_values(graph: og.TrackableObjectGraph) -> None:
    """Set every node's ``has_checkpoint_values`` as TensorFlow does: true for nodes that save
    tensors (attributes, slots, a registered saver) and for every ancestor of such a node."""
    parents: dict[int, set[int]] = {}
    for node_id, node in enumerate(graph.nodes):
        for ref in node.children:
            parents.setdefault(ref.node_id, set()).add(node_id)
    marked = {i for i, n in enumerate(graph.nodes)
              if n.attributes or n.slot_variables or n.registered_saver is not None}
    stack = list(marked)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in marked:
                marked.add(parent)
                stack.append(parent)
    for node_id, node in enumerate(graph.nodes):
        node.has_checkpoint_values = node_id in marked


@dataclass
class Match:
    """Our variables paired with checkpoint keys, and what matched nowhere on either side."""

    pairs: list[tuple[Variable, str]] = field(default_factory=list)
    unmatched_variables: list[Variable] = field(default_factory=list)
    matched_nodes: set[int] = field(default_factory=set)
    matched_objects: dict[int, Any] = field(default_factory=dict)


def match(root: Any, graph: og.TrackableObjectGraph) -> Match:
    """Walk our tree and the checkpoint graph together from the roots, by local names."""
    result = Match()
    result.matched_nodes.add(0)
    result.matched_objects[0] = root
    seen = {node_key(root)}
    queue = [(root, 0)]
    while queue:
        obj, node_id = queue.pop(0)
        ckpt_children = {ref.local_name: ref.node_id for ref in graph.nodes[node_id].children}
        for name, child in children_of(obj):
            key = node_key(child)
            if key in seen:
                continue
            child_id = ckpt_children.get(name)
            if child_id is None or not 0 <= child_id < len(graph.nodes):
                _mark_unmatched(child, result, seen)
                continue
            seen.add(key)
            result.matched_nodes.add(child_id)
            result.matched_objects[child_id] = child
            if isinstance(child, Variable):
                attrs = [a for a in graph.nodes[child_id].attributes if a.name == ATTRIBUTE]
                if attrs:
                    result.pairs.append((child, attrs[0].checkpoint_key))
                else:
                    result.unmatched_variables.append(child)
            queue.append((child, child_id))
    return result


def _mark_unmatched(obj: Any, result: Match, seen: set[int]) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        key = node_key(item)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(item, Variable):
            result.unmatched_variables.append(item)
        stack.extend(child for _, child in children_of(item))


def checkpoint_keys_in(graph: og.TrackableObjectGraph, node_ids: Iterable[int]) -> list[str]:
    """The tensor keys stored under the given checkpoint nodes."""
    return [a.checkpoint_key for i in node_ids for a in graph.nodes[i].attributes]


def subtree_node_ids(graph: og.TrackableObjectGraph, start: int) -> list[int]:
    """Every node reachable from ``start`` (start included), breadth first."""
    order, seen = [start], {start}
    i = 0
    while i < len(order):
        for ref in graph.nodes[order[i]].children:
            if ref.node_id not in seen and 0 <= ref.node_id < len(graph.nodes):
                seen.add(ref.node_id)
                order.append(ref.node_id)
        i += 1
    return order
