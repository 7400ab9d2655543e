"""Damaged, truncated or forged bundles raise FormatError naming the tensor and file; writes are atomic."""

from __future__ import annotations

import os

import numpy as np
import pytest

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import layout, proto, table
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle


@pytest.fixture()
def bundle(tmp_path):
    prefix = str(tmp_path / "cp.ckpt")
    write_bundle(prefix, {"kernel": np.arange(12, dtype=np.float32).reshape(3, 4),
                          "bias": np.ones(4, np.float64), "note": b"some text"})
    return prefix


def _flip(path: str, offset: int) -> None:
    data = bytearray(open(path, "rb").read())
    data[offset] ^= 0x10
    open(path, "wb").write(bytes(data))


def _rewrite_index(prefix: str, edit) -> None:
    """Re-encode the index after ``edit(rows)`` changes (key, value) rows (checksums stay valid)."""
    rows = table.read_table(open(layout.index_path(prefix), "rb").read(), "x")
    rows = edit(rows)
    open(layout.index_path(prefix), "wb").write(table.encode_table(rows))


def _edit_entry(prefix: str, name: str, **changes) -> None:
    def edit(rows):
        out = []
        for key, value in rows:
            if key == name.encode():
                entry = proto.decode_entry(value, "t")
                for k, v in changes.items():
                    setattr(entry, k, v)
                value = proto.encode_entry(entry)
            out.append((key, value))
        return out
    _rewrite_index(prefix, edit)


def test_flipped_data_byte_names_tensor_and_file(bundle):
    r0 = BundleReader(bundle)
    _flip(layout.data_path(bundle), r0.entry("bias").offset + 3)
    r = BundleReader(bundle)  # index is fine: opening succeeds
    with pytest.raises(FormatError, match=r'Checksum mismatch for tensor "bias" of checkpoint '
                                          r"'.*cp.ckpt.index'.*damaged"):
        r.get_tensor("bias")
    with pytest.raises(FormatError, match='tensor "bias"'):
        r.read_all()
    out = np.full(4, 7.0)
    with pytest.raises(FormatError, match='Checksum mismatch for tensor "bias"'):
        r.read_into("bias", out)
    assert out.tolist() == [7.0] * 4  # untouched
    np.testing.assert_array_equal(r.get_tensor("kernel"), np.arange(12).reshape(3, 4))


@pytest.mark.parametrize("where,message", [(0, "string lengths"), (2, "string lengths"),
                                           (6, 'Checksum mismatch for tensor "note"')])
def test_flipped_string_bytes(bundle, where, message):
    offset = BundleReader(bundle).entry("note").offset
    _flip(layout.data_path(bundle), offset + where)
    with pytest.raises(FormatError, match=message):
        BundleReader(bundle).get_tensor("note")


def test_truncated_data_file_fails_at_open_naming_tensor(bundle):
    path = layout.data_path(bundle)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-3])
    with pytest.raises(FormatError, match=r'Expected the bytes of tensor "note" of checkpoint '
                                          r".*inside its data file.*truncated"):
        BundleReader(bundle)


def test_missing_data_file(bundle):
    os.remove(layout.data_path(bundle))
    with pytest.raises(FormatError, match=r"its data file .*data-00000-of-00001.* is missing"):
        BundleReader(bundle)


@pytest.mark.parametrize("cut", [1, 10, 47, 48, 60])
def test_truncated_index(bundle, cut):
    path = layout.index_path(bundle)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-cut])
    with pytest.raises(FormatError, match=r"Unable to read table file '.*cp.ckpt.index'"):
        BundleReader(bundle)


def test_every_index_bit_flip_is_detected_or_harmless(bundle):
    path = layout.index_path(bundle)
    good = open(path, "rb").read()
    expected = {k: v for k, v in BundleReader(bundle).read_all().items()}
    for i in range(len(good) - 48):
        data = bytearray(good)
        data[i] ^= 0x04
        open(path, "wb").write(bytes(data))
        try:
            got = BundleReader(bundle).read_all()
        except FormatError as e:
            assert "cp.ckpt.index" in str(e)
        else:
            assert got.keys() == expected.keys(), i


@pytest.mark.parametrize("changes,message", [
    ({"size": 999}, r'Expected the bytes of tensor "kernel".*Received \[offset 0, size 999\)'),
    ({"size": 40}, r'Expected 48 bytes for tensor "kernel".*shape \[3, 4\], float32'),
    ({"dtype": 21}, r'Unsupported dtype 21 for tensor "kernel"'),
    ({"shape": (3, -1)}, r'Invalid shape \(3, -1\) for tensor "kernel"'),
    ({"shape": None}, r'Invalid shape None for tensor "kernel"'),
    ({"shard_id": 2}, r'Invalid shard_id 2 for tensor "kernel".*1 shard'),
    ({"offset": -5}, r"Received \[offset -5, size 48\)"),
])
def test_forged_entries_are_rejected_at_open(bundle, changes, message):
    _edit_entry(bundle, "kernel", **changes)
    with pytest.raises(FormatError, match=message):
        BundleReader(bundle)


def test_string_entry_too_small(bundle):
    _edit_entry(bundle, "note", size=2)
    with pytest.raises(FormatError, match=r'Expected at least 5 bytes for tensor "note"'):
        BundleReader(bundle)


@pytest.mark.parametrize("header,message", [
    (proto.BundleHeader(num_shards=0), r"expected num_shards >= 1.*received 0"),
    (proto.BundleHeader(num_shards=1, endianness=1), "expected a little-endian bundle"),
    (proto.BundleHeader(num_shards=1, version=proto.VersionDef(producer=2, min_consumer=2)),
     r"needs a reader of format version >= 2"),
    (proto.BundleHeader(num_shards=1, version=proto.VersionDef(bad_consumers=[1])),
     r"bad: \[1\]"),
])
def test_bad_headers(bundle, header, message):
    _rewrite_index(bundle, lambda rows: [(b"", proto.encode_header(header))] + rows[1:])
    with pytest.raises(FormatError, match=f"Unable to read checkpoint .*cp.ckpt.index.*{message}"):
        BundleReader(bundle)


def test_missing_header_and_bad_key(bundle):
    _rewrite_index(bundle, lambda rows: rows[1:])
    with pytest.raises(FormatError, match="expected the header entry \\(key ''\\) first"):
        BundleReader(bundle)


def test_non_utf8_key(bundle):
    _rewrite_index(bundle, lambda rows: rows + [(b"\xff\xfe", rows[1][1])])
    with pytest.raises(FormatError, match=r"tensor name b'\\xff\\xfe' is not UTF-8"):
        BundleReader(bundle)


def test_partitioned_entries_are_listed_but_not_read(bundle):
    _edit_entry(bundle, "kernel", slices=[[proto.SliceExtent(0, 1), proto.SliceExtent()]])
    r = BundleReader(bundle)
    assert "kernel" in r.keys()
    with pytest.raises(FormatError, match='"kernel".* is partitioned into 1 slices'):
        r.get_tensor("kernel")


# ----------------------------------------------------------------------------- atomicity
def _snapshot(directory) -> dict[str, bytes]:
    return {n: open(os.path.join(directory, n), "rb").read() for n in sorted(os.listdir(directory))}


@pytest.mark.parametrize("fail_at_write", [1, 2, 3])
def test_failure_mid_write_keeps_previous_bundle(tmp_path, monkeypatch, fail_at_write):
    prefix = str(tmp_path / "cp.ckpt")
    write_bundle(prefix, {"a": np.zeros(10, np.float32), "b": np.zeros(3, np.int64)})
    before = _snapshot(tmp_path)
    calls = {"n": 0}
    original = storage.AtomicWriter.write

    def failing(self, data):
        calls["n"] += 1
        if calls["n"] == fail_at_write:
            raise OSError("disk full (simulated)")
        return original(self, data)

    monkeypatch.setattr(storage.AtomicWriter, "write", failing)
    with pytest.raises(OSError, match="disk full"):  # 3rd write is the index
        write_bundle(prefix, {"a": np.ones(10, np.float32), "b": np.ones(3, np.int64)})
    assert _snapshot(tmp_path) == before  # same files, same bytes, no temp files left
    np.testing.assert_array_equal(BundleReader(prefix).get_tensor("a"), np.zeros(10))


def test_failure_while_committing_index_leaves_no_temp_files(tmp_path, monkeypatch):
    prefix = str(tmp_path / "cp.ckpt")
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".index"):
            raise OSError("rename failed (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_bundle(prefix, {"a": np.ones(2, np.float32)})
    assert not any(storage.is_temp_name(n) for n in os.listdir(tmp_path))
    assert not os.path.exists(prefix + ".index")
