"""Hostile sizes: every count and size a reader takes from a file is bounded by the file.

Tiny files that declare huge tensors, shapes, keys, object graphs, datasets or layers must be
refused with a ``SavepointError`` naming what was expected and received, using memory and
time proportional to the file's real size. ``test_hostile_files_under_an_address_space_limit``
crafts the files with the project's own encoders (then patches the declared sizes), and loads
them through the public APIs in one child process whose address space is capped at 2 GiB above
what importing torch and savepoint takes (``hostile_sizes_child.py``). The other tests check
each guard directly, in process.
"""

import json
import os
import re
import struct
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError, FormatError
from savepoint.saving.formats import h5 as h5_format
from savepoint.saving.formats import keras_zip
from savepoint.saving.formats.tf_checkpoint import crc, layout, object_graph, proto, table
from savepoint.saving.formats.tf_checkpoint.dtypes import DT_STRING
from savepoint.saving.engine.model_config import check_declared_sizes, model_from_config

CHILD = os.path.join(os.path.dirname(__file__), "hostile_sizes_child.py")
DT_FLOAT = 1
GRAPH_KEY = object_graph.OBJECT_GRAPH_KEY


# ----- crafting hostile files with the project's encoders ----------------------------------
def write_bundle_entries(prefix, entries, data=bytes(64)):
    """A bundle whose index holds ``entries`` (name -> BundleEntry) as given, unchecked."""
    header = proto.encode_header(proto.BundleHeader(num_shards=1,
                                                    version=proto.VersionDef(producer=1)))
    rows = [(b"", header)] + sorted((name.encode(), proto.encode_entry(e))
                                    for name, e in entries.items())
    with open(layout.index_path(prefix), "wb") as f:
        f.write(table.encode_table(rows))
    with open(layout.data_path(prefix), "wb") as f:
        f.write(data)


def _block(entries_bytes):
    """Block contents (entries, restart array [0]) plus its trailer."""
    contents = bytes(entries_bytes) + struct.pack("<II", 0, 1)
    checksum = crc.mask(crc.extend(crc.value(contents), b"\0"))
    return contents, contents + b"\0" + struct.pack("<I", checksum)


def _entry(shared, unshared_key, value=b""):
    out = bytearray()
    for n in (shared, len(unshared_key), len(value)):
        proto.put_varint(out, n)
    return out + unshared_key + value


def write_key_bomb_index(prefix, key_length=200_000, total=1 << 20):
    """An index whose one data block repeats a ``key_length``-byte key through shared prefixes:
    each 6-byte entry stands for a new key of ``key_length + 1`` bytes."""
    body = bytearray(_entry(0, b"a" * key_length))
    repeat = _entry(key_length, b"b")
    body += repeat * ((total - len(body)) // len(repeat))
    data_contents, data_block = _block(body)
    meta_contents, meta_block = _block(b"")
    handle = proto.varint_bytes(0) + proto.varint_bytes(len(data_contents))
    index_contents, index_block = _block(_entry(0, b"z", handle))
    meta_at = len(data_block)
    index_at = meta_at + len(meta_block)
    footer = (proto.varint_bytes(meta_at) + proto.varint_bytes(len(meta_contents))
              + proto.varint_bytes(index_at) + proto.varint_bytes(len(index_contents)))
    footer = footer.ljust(table.FOOTER_SIZE - 8, b"\0") + struct.pack("<Q", table.MAGIC)
    with open(layout.index_path(prefix), "wb") as f:
        f.write(data_block + meta_block + index_block + footer)
    with open(layout.data_path(prefix), "wb") as f:
        f.write(bytes(64))


def string_entry(shape, size=0):
    return proto.BundleEntry(dtype=DT_STRING, shape=shape, size=size)


def write_keras_with_units(path, units):
    """A ``.keras`` saved by savepoint whose config.json is patched to ``units``."""
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="dense")])
    original = path + ".orig.keras"
    model.save(original)
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == keras_zip.CONFIG:
                data = data.replace(b'"units": 2', f'"units": {units}'.encode())
                assert str(units).encode() in data
            dst.writestr(info, data)


def hostile_cases(d):
    """(name, api, path, expected error class, message regex) for every hostile file."""
    cases = []

    def bundle(name, entries, api, error, match):
        prefix = os.path.join(d, name, "cp.ckpt")
        os.makedirs(os.path.dirname(prefix))
        write_bundle_entries(prefix, entries)
        cases.append((name, api, prefix, error, match))

    # The three files: a DT_STRING entry with size 0 and a huge shape.
    bundle("string_1e12_verify", {"s": string_entry((10 ** 12,))}, "verify", "FormatError",
           r'Expected at least 1000000000004 bytes for tensor "s" .*shape \[1000000000000\].*'
           r"Received size 0\. The index is damaged\. Fix: re-save")
    bundle("string_1e9_verify", {"s": string_entry((10 ** 9,))}, "verify", "FormatError",
           r'Expected at least 1000000004 bytes for tensor "s" .*Received size 0')
    bundle("object_graph_2e8_load_weights", {GRAPH_KEY: string_entry((2 * 10 ** 8,))},
           "load_weights", "FormatError",
           rf'Expected at least 200000004 bytes for tensor "{GRAPH_KEY}".*Received size 0')
    # A non-zero size still has to hold one length byte per element.
    bundle("string_size_too_small", {"s": string_entry((10 ** 9,), size=60)}, "list_variables",
           "FormatError", r"Expected at least 1000000004 bytes .*Received size 60")
    bundle("float_1e12", {"w": proto.BundleEntry(dtype=DT_FLOAT, shape=(10 ** 12,), size=64)},
           "load_checkpoint", "FormatError",
           r'Expected 4000000000000 bytes for tensor "w".*Received size 64')
    bundle("rank_100000", {"w": proto.BundleEntry(dtype=DT_FLOAT, shape=(1,) * 100_000, size=4)},
           "list_variables", "FormatError", r"Expected at most 254 dimensions in the shape of")
    bundle("elements_overflow",
           {"w": proto.BundleEntry(dtype=DT_FLOAT, shape=(2 ** 40, 2 ** 40, 0), size=0)},
           "load_checkpoint", "FormatError",
           r"Expected at most 9223372036854775807 elements in .*Received shape")

    prefix = os.path.join(d, "key_bomb", "cp.ckpt")
    os.makedirs(os.path.dirname(prefix))
    write_key_bomb_index(prefix)
    cases.append(("key_bomb", "list_variables", prefix, "FormatError",
                  r"the keys of data block 0 expand, through shared prefixes, to more than 64 "
                  r"times the file's size plus 1 MiB"))

    h5_path = os.path.join(d, "fill_value.h5")
    with h5py.File(h5_path, "w") as f:  # never written: every chunk reads as the fill value
        f.create_dataset("huge", shape=(10 ** 10,), dtype="float32", chunks=(1 << 20,),
                         compression="gzip")
    cases.append(("h5_unwritten_compressed_1e10", "verify", h5_path, "FormatError",
                  r"dataset '/huge' .*claims shape \(10000000000,\), more bytes than the file "
                  r"holds \(expected at most \d+ bytes from a \d+-byte file, received "
                  r"40000000000\)"))

    keras_path = os.path.join(d, "units.keras")
    write_keras_with_units(keras_path, 10 ** 12)
    cases.append(("keras_units_1e12", "load_model", keras_path, "ConfigError",
                  r"Expected sizes of at most 2147483647 in layer 'dense'\. Received "
                  r"units=1000000000000"))
    return cases


def test_hostile_files_under_an_address_space_limit(tmp_path):
    cases = hostile_cases(str(tmp_path))
    listing = tmp_path / "cases.json"
    listing.write_text(json.dumps([{"name": n, "api": a, "path": p} for n, a, p, _, _ in cases]))
    sizes = {n: sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in
                    os.walk(p if os.path.isdir(p) else os.path.dirname(p)) for f in fs)
             for n, _, p, _, _ in cases if not p.endswith((".h5", ".keras"))}
    assert max(sizes.values()) < 2 << 20  # tiny files: what they declare is the attack

    run = subprocess.run([sys.executable, CHILD, str(listing)], capture_output=True, text=True,
                         timeout=240, cwd=str(tmp_path))
    results = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["name"]] = row
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:], results)
    for name, _, _, error, match in cases:
        row = results[name]
        assert row["error"] == error, (name, row)
        assert re.search(match, row["message"]), (name, match, row["message"])


# ----- each guard, in process --------------------------------------------------------------
def test_decode_strings_refuses_a_count_beyond_its_payload():
    with pytest.raises(FormatError, match=r"Expected at least 1000000000004 bytes for t "
                                          r"\(1000000000000 string lengths and a 4-byte "
                                          r"checksum\)\. Received 0\."):
        layout.decode_strings(memoryview(b""), 10 ** 12, 0, "t")
    with pytest.raises(FormatError, match=r"Expected at least 7 bytes for t .*Received 5"):
        layout.decode_strings(memoryview(bytes(5)), 3, 0, "t")
    assert layout.decode_strings(memoryview(b""), 0, 0, "t") == []
    payload, checksum = layout.encode_strings([b"", b"ab"])
    assert layout.decode_strings(memoryview(payload), 2, checksum, "t") == [b"", b"ab"]


def test_empty_string_tensors_still_read(tmp_path):
    prefix = str(tmp_path / "cp.ckpt")
    from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    write_bundle(prefix, {"e": np.array([], dtype=object).reshape(0, 3), "s": b"x"})
    with keras.train.load_checkpoint(prefix) as reader:
        assert reader.get_tensor("e").shape == (0, 3)
        assert reader.get_tensor("s") == b"x"


def test_shape_rank_and_element_count_are_capped():
    dims = proto.encode_shape((1,) * 255)
    with pytest.raises(FormatError, match=r"Expected at most 254 dimensions in the shape of x"):
        proto.decode_shape(dims, "x")
    assert proto.decode_shape(proto.encode_shape((1,) * 254), "x") == ((1,) * 254, False)
    assert proto.element_count((2 ** 31, 2 ** 31), "x") == 2 ** 62
    with pytest.raises(FormatError, match=r"Expected at most 9223372036854775807 elements in x\. "
                                          r"Received shape \[4294967296, 4294967296\]"):
        proto.element_count((2 ** 32, 2 ** 32), "x")


def test_object_graph_object_count_is_capped(monkeypatch):
    monkeypatch.setattr(object_graph, "MAX_GRAPH_OBJECTS", 10)
    graph = object_graph.TrackableObjectGraph([object_graph.TrackableObject()] * 10)
    assert len(object_graph.decode_object_graph(object_graph.encode_object_graph(graph)).nodes) == 10
    with pytest.raises(FormatError, match=r"Expected at most 10 nodes, references, attributes and "
                                          r"slots in the checkpoint's object graph"):
        object_graph.decode_object_graph(b"\x0a\x00" * 11)
    children = [object_graph.ObjectReference(0, "c")] * 10
    one_node = object_graph.TrackableObjectGraph([object_graph.TrackableObject(children)])
    with pytest.raises(FormatError, match=r"Expected at most 10 nodes"):
        object_graph.decode_object_graph(object_graph.encode_object_graph(one_node))


def test_table_key_expansion_is_capped(tmp_path):
    prefix = str(tmp_path / "cp.ckpt")
    write_key_bomb_index(prefix, key_length=20_000, total=100_000)
    data = open(layout.index_path(prefix), "rb").read()
    with pytest.raises(FormatError, match=r"the keys of data block 0 expand, through shared "
                                          r"prefixes, to more than 64 times the file's size"):
        table.read_table(data, "x.index")


def test_h5_attribute_larger_than_the_file_is_refused(tmp_path, monkeypatch):
    path = str(tmp_path / "a.h5")
    with h5py.File(path, "w") as f:
        f.attrs.create("names", np.array([b"ab"] * 50, dtype=h5py.string_dtype("ascii")))
        f.attrs.create("one", b"x", dtype=h5py.string_dtype("ascii"))
    with h5_format.H5Reader(path) as reader:
        assert reader.attr("", "one") == "x"
        monkeypatch.setattr(reader, "_size", lambda: 20)  # as if the file were 20 bytes long
        with pytest.raises(FormatError, match=r"attribute 'names' of '/' claims 50 elements "
                                              r"\(\d+ bytes\); expected at most the file's 20 "
                                              r"bytes"):
            reader.string_list("", "names")
        with pytest.raises(FormatError, match=r"attribute 'names' of '/' claims 50 elements"):
            reader.attr("", "names")


def test_h5_compressed_dataset_is_capped_by_the_file_size(tmp_path):
    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("small", data=np.zeros(10_000, np.float32), compression="gzip")
        f.create_dataset("huge", shape=(10 ** 8,), dtype="float32", chunks=(1 << 16,),
                         compression="gzip")
    with h5_format.H5Reader(path) as reader:
        assert reader.read_array("", "small", "a test value").shape == (10_000,)
        with pytest.raises(FormatError, match=r"claims shape \(100000000,\), more bytes than the "
                                              r"file holds \(expected at most \d+ bytes"):
            reader.read_array("", "huge", "a test value")


def test_deeply_nested_keras_json_is_a_format_error(tmp_path):
    path = str(tmp_path / "deep.keras")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(keras_zip.METADATA, "{}")
        zf.writestr(keras_zip.CONFIG, "[" * 200_000 + "]" * 200_000)
        zf.writestr(keras_zip.WEIGHTS, b"")
    with pytest.raises(FormatError, match=r"config\.json nests JSON arrays or objects deeper "
                                          r"than Python's recursion limit"):
        keras_zip.KerasArchive(path)


def test_config_sizes_are_refused_before_allocation():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="dense")])
    from savepoint.saving.engine.model_config import model_to_config
    config = model_to_config(model)
    check_declared_sizes(config)  # a real config passes
    dense = config["config"]["layers"][-1]["config"]
    dense["units"] = 10 ** 12
    with pytest.raises(ConfigError, match=r"Expected sizes of at most 2147483647 in layer "
                                          r"'dense'\. Received units=1000000000000\. Fix:"):
        model_from_config(config)
    dense["units"] = 2
    dense["batch_input_shape"] = [None, 100_000, 100_000]
    with pytest.raises(ConfigError, match=r"Expected a shape of at most 2147483648 elements in "
                                          r"layer 'dense'\. Received batch_input_shape=\[None, "
                                          r"100000, 100000\] \(10000000000 elements\)"):
        model_from_config(config)


def test_weights_no_machine_could_hold_are_a_config_error():
    with pytest.raises(ConfigError, match=r"Expected weight 'kernel' of layer 'big' to have "
                                          r"dimensions of at most 2147483647 and at most "
                                          r"1099511627776 bytes\. Received shape \[3000, "
                                          r"1073741824\] \(12884901888000 bytes\)"):
        keras.Sequential([keras.layers.Dense(2 ** 30, input_shape=(3000,), name="big")])
    with pytest.raises(ConfigError, match=r"Received shape \[3, 1000000000000\]"):
        keras.Sequential([keras.layers.Dense(10 ** 12, input_shape=(3,), name="big")])


def test_a_non_scalar_object_graph_is_refused(tmp_path):
    from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    prefix = str(tmp_path / "cp.ckpt")
    graph = object_graph.encode_object_graph(object_graph.TrackableObjectGraph(
        [object_graph.TrackableObject()]))
    write_bundle(prefix, {GRAPH_KEY: np.array([graph, graph], dtype=object)})
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(FormatError, match=r"Expected the checkpoint's object graph "
                                          r"\(_CHECKPOINTABLE_OBJECT_GRAPH\) to be a scalar string "
                                          r"tensor\. Received ndarray of shape \[2\]"):
        model.load_weights(prefix)
