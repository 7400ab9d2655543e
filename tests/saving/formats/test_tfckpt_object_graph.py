"""tf_checkpoint.object_graph: TrackableObjectGraph proto codec."""

from __future__ import annotations

import pytest

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint.object_graph import (
    ObjectReference, RegisteredSaver, SerializedTensor, SlotVariableReference, TrackableObject,
    TrackableObjectGraph, decode_object_graph, encode_object_graph, to_dict)


def _graph() -> TrackableObjectGraph:
    return TrackableObjectGraph([
        TrackableObject(children=[ObjectReference(1, "layer_with_weights-0"),
                                  ObjectReference(2, "optimizer"), ObjectReference(0, "root")],
                        has_checkpoint_values=True),
        TrackableObject(attributes=[SerializedTensor("VARIABLE_VALUE", "dense/kernel",
                                                     "layer_with_weights-0/kernel/.ATTRIBUTES/"
                                                     "VARIABLE_VALUE", optional_restore=True)],
                        slot_variables=[SlotVariableReference(1, "m", 2)],
                        has_checkpoint_values=False),
        TrackableObject(registered_saver=RegisteredSaver("saver", "obj")),
    ])


def test_round_trip():
    g = _graph()
    assert decode_object_graph(encode_object_graph(g)) == g


def test_golden_bytes():
    g = TrackableObjectGraph([TrackableObject([ObjectReference(1, "a")],
                                              has_checkpoint_values=True), TrackableObject()])
    # nodes[0]{children{node_id:1 local_name:"a"} has_checkpoint_values{value:true}} nodes[1]{}
    assert encode_object_graph(g).hex() == "0a0b" "0a05" "0801" "120161" "2a020801" "0a00"


def test_to_dict_matches_protobuf_json_rendering():
    d = to_dict(_graph())
    assert d["nodes"][0]["children"][2] == {"local_name": "root"}  # node_id 0 omitted
    assert d["nodes"][1]["has_checkpoint_values"] is False
    assert d["nodes"][1]["slot_variables"] == [{"original_variable_node_id": 1,
                                                "slot_name": "m", "slot_variable_node_id": 2}]
    assert d["nodes"][2] == {"registered_saver": {"name": "saver", "object_name": "obj"}}


@pytest.mark.parametrize("data,message", [
    (b"\x0a\x04\x0a\x02\x08\x05", "references child node 5, but the graph has 1 nodes"),
    (b"\x0a\x06\x1a\x04\x08\x00\x18\x09", "references slot variable node 9"),
    (b"\x0a\x05", "claims 5 bytes but only 0 remain"),
    (b"\x08\x01", "Field 1 of the checkpoint's object graph .* has wire type 0; expected 2"),
    (b"\x0a\x04\x0a\x02\x12\x7f", "claims 127 bytes"),
    (b"\x0a\x05\x0a\x03\x12\x01\xff", "Expected UTF-8 text"),
])
def test_garbage_is_rejected(data, message):
    with pytest.raises(FormatError, match=message):
        decode_object_graph(data)
