"""Golden checkpoints written by real TensorFlow 2.21 / tf-keras (tools/make_tf_fixtures.py).

Our reader must read every tensor bit-exactly as TensorFlow reports it, decode the object graph
as TensorFlow's own proto classes do, and our writers must reproduce TensorFlow's bytes.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from savepoint.saving.formats.tf_checkpoint import layout, object_graph, table
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
from savepoint.saving.formats.tf_checkpoint.state_file import latest_checkpoint, read_state

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "tf")
NAMES = ["vars", "sharded", "seq"]


def _load(name: str):
    directory = os.path.join(FIXTURES, name)
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    expected = np.load(os.path.join(directory, "expected.npz"), allow_pickle=False)
    return directory, os.path.join(directory, manifest["prefix"]), manifest["tensors"], expected


def _assert_same(got, want: np.ndarray, dtype: str, key: str) -> None:
    if dtype == "bfloat16":
        assert isinstance(got, BFloat16Array), key
        assert got.bits.tobytes() == want.astype("<u2").tobytes() and got.shape == want.shape
    elif dtype == "string":
        got_list = got if isinstance(got, bytes) else got.tolist()
        assert got_list == want.tolist(), key
    else:
        assert got.dtype == want.dtype and got.shape == want.shape, key
        assert got.tobytes() == want.tobytes(), key  # bit-exact (NaN payloads included)


def test_fixtures_were_made_by_tensorflow_2_21():
    with open(os.path.join(FIXTURES, "seq", "versions.json")) as f:
        versions = json.load(f)
    assert versions["tensorflow"] == "2.21.0" and versions["tf_keras"] == "2.21.0"


@pytest.mark.parametrize("name", NAMES)
def test_reader_matches_tensorflow_values_shapes_and_dtypes(name):
    _, prefix, tensors, expected = _load(name)
    with BundleReader(prefix) as r:
        assert sorted(r.keys()) == sorted(t["key"] for t in tensors)
        shapes, dtypes = r.get_variable_to_shape_map(), r.get_variable_to_dtype_map()
        for t in tensors:
            assert shapes[t["key"]] == t["shape"] and dtypes[t["key"]] == t["dtype"]
            _assert_same(r.get_tensor(t["key"]), expected[t["npz"]], t["dtype"], t["key"])


def test_sharded_fixture_uses_three_data_files():
    _, prefix, _, _ = _load("sharded")
    r = BundleReader(prefix)
    assert r.header.num_shards == 3
    assert {r.entry(k).shard_id for k in r.keys()} == {0, 1, 2}


@pytest.mark.parametrize("name", NAMES)
def test_object_graph_matches_tensorflow_json(name):
    directory, prefix, _, _ = _load(name)
    raw = BundleReader(prefix).get_tensor(object_graph.OBJECT_GRAPH_KEY)
    graph = object_graph.decode_object_graph(raw)
    with open(os.path.join(directory, "object_graph.json")) as f:
        assert object_graph.to_dict(graph) == json.load(f)
    assert object_graph.encode_object_graph(graph) == raw  # byte-identical re-encoding


@pytest.mark.parametrize("name", NAMES)
def test_table_reencoding_is_byte_identical(name):
    _, prefix, _, _ = _load(name)
    data = open(layout.index_path(prefix), "rb").read()
    assert table.encode_table(table.read_table(data, prefix)) == data


@pytest.mark.parametrize("name", ["vars", "seq"])
def test_write_bundle_reproduces_tensorflow_files_byte_for_byte(tmp_path, name):
    _, prefix, _, _ = _load(name)
    r = BundleReader(prefix)
    in_data_order = sorted(r.keys(), key=lambda k: r.entry(k).offset)
    ours = str(tmp_path / "ours")
    write_bundle(ours, {k: r.get_tensor(k) for k in in_data_order})
    for path in (layout.index_path, layout.data_path):
        assert open(path(ours), "rb").read() == open(path(prefix), "rb").read(), path.__name__


@pytest.mark.parametrize("name", ["vars", "seq"])
def test_state_file_and_latest_checkpoint(name):
    directory, prefix, _, _ = _load(name)
    state = read_state(directory)
    assert state.model_checkpoint_path == os.path.basename(prefix)
    assert state.all_model_checkpoint_paths == [os.path.basename(prefix)]
    assert latest_checkpoint(directory) == os.path.join(directory, os.path.basename(prefix))


def test_seq_weights_and_predictions():
    directory, prefix, _, _ = _load("seq")
    r = BundleReader(prefix)
    key = "layer_with_weights-{}/{}/.ATTRIBUTES/VARIABLE_VALUE"
    weights = [r.get_tensor(key.format(i, w)) for i in (0, 1) for w in ("kernel", "bias")]
    keras = np.load(os.path.join(directory, "weights.npz"), allow_pickle=False)
    for i, w in enumerate(weights):
        assert w.tobytes() == keras[f"w{i}"].tobytes()
    assert r.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 1
    preds = np.load(os.path.join(directory, "predictions.npz"), allow_pickle=False)
    hidden = np.maximum(preds["x"] @ weights[0] + weights[1], 0)
    np.testing.assert_allclose(hidden @ weights[2] + weights[3], preds["y"], rtol=1e-5,
                               atol=1e-6)
