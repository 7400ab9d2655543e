"""saving.storage: atomic commit, streaming writes, mapped reads, clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from savepoint.errors import CheckpointNotFoundError
from savepoint.saving import storage


def test_atomic_writer_streams_arrays_and_commits(tmp_path):
    target = tmp_path / "data.bin"
    a = np.arange(1000, dtype=np.float32)
    with storage.atomic_writer(target) as f:
        assert f.write(memoryview(a)) == a.nbytes
        assert f.write(b"tail") == 4
        assert f.tell() == a.nbytes + 4
        assert not target.exists()  # not visible before commit
    assert target.read_bytes() == a.tobytes() + b"tail"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_exception_inside_writer_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with storage.atomic_writer(target) as f:
            f.write(b"new partial")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_temp_names_are_hidden_and_recognised(tmp_path):
    name = storage.temp_name_for(tmp_path / "cp.ckpt.index")
    base = os.path.basename(name)
    assert base.startswith(".cp.ckpt.index.tmp-") and os.path.dirname(name) == str(tmp_path)
    assert storage.is_temp_name(base) and not storage.is_temp_name("cp.ckpt.index")
    open(name, "wb").close()
    assert storage.remove_stale_temp_files(tmp_path) == [base]
    assert storage.listdir(tmp_path) == []


def test_non_contiguous_buffer_is_rejected_with_fix(tmp_path):
    a = np.arange(10, dtype=np.int64)[::2]
    with pytest.raises(ValueError, match="Expected a C-contiguous buffer.*ascontiguousarray"):
        with storage.atomic_writer(tmp_path / "x") as f:
            f.write(memoryview(a))
    assert storage.listdir(tmp_path) == []


def test_write_after_commit_is_an_error(tmp_path):
    w = storage.atomic_writer(tmp_path / "x")
    w.commit()
    with pytest.raises(ValueError, match="Expected an open writer"):
        w.write(b"late")


def test_map_file_and_read_helpers(tmp_path):
    p = tmp_path / "m.bin"
    storage.write_bytes_atomically(p, np.arange(4, dtype="<u2").tobytes())
    view = storage.map_file(p)
    assert np.frombuffer(view, dtype="<u2").tolist() == [0, 1, 2, 3]
    assert view.readonly
    view.release()
    assert storage.read_bytes(p)[:2] == b"\x00\x00"
    assert storage.file_size(p) == 8
    with storage.open_read(p) as f:
        assert len(f.read()) == 8
    storage.write_bytes_atomically(tmp_path / "empty", b"")
    assert len(storage.map_file(tmp_path / "empty")) == 0


def test_replace_text_atomically_overwrites(tmp_path):
    p = tmp_path / "checkpoint"
    storage.replace_text_atomically(p, "one\n")
    storage.replace_text_atomically(p, "two\n")
    assert storage.read_text(p) == "two\n"
    assert storage.listdir(tmp_path) == ["checkpoint"]


def test_missing_files_raise_checkpoint_not_found(tmp_path):
    missing = tmp_path / "nope"
    for fn in (storage.read_bytes, storage.map_file, storage.open_read, storage.file_size,
               storage.listdir):
        with pytest.raises(CheckpointNotFoundError, match="Expected a file at .*nope"):
            fn(missing)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.remove(missing, missing_ok=False)
    storage.remove(missing)  # fine by default


def test_dirs(tmp_path):
    d = tmp_path / "a" / "b"
    storage.makedirs(d)
    storage.makedirs(d)
    assert storage.isdir(d) and storage.exists(d)
    storage.fsync_dir(d)
    assert storage.listdir(tmp_path / "a") == ["b"]
