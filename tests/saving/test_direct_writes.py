"""storage.direct: O_DIRECT temporary files for background saves write exactly the bytes asked."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import StorageError
from savepoint.saving import storage
from savepoint.saving.engine import async_saver
from savepoint.saving.storage import direct

STAGING = direct._STAGING_BYTES


@pytest.fixture
def direct_dir(tmp_path):
    probe = direct.open_direct(str(tmp_path / "probe"))
    if probe is None:
        pytest.skip("this file system refuses O_DIRECT")
    probe.close()
    os.remove(tmp_path / "probe")
    return tmp_path


@pytest.mark.parametrize("sizes", [[0], [1], [4095], [4096], [4097], [STAGING - 1, 2],
                                   [STAGING, STAGING + 5], [3, 5000, 7, STAGING * 2 + 11]])
def test_direct_file_holds_exactly_the_bytes_written(direct_dir, sizes):
    rng = np.random.default_rng(len(sizes) + sum(sizes))
    chunks = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]
    path = str(direct_dir / "f")
    f = direct.open_direct(path)
    for i, chunk in enumerate(chunks):
        assert f.write(chunk) == len(chunk)
        if i == 0:
            f.flush()  # a flush mid-file pads the last block; later writes must overwrite it
            assert os.path.getsize(path) == len(chunk)
    f.close()
    with open(path, "rb") as got:
        assert got.read() == b"".join(chunks)


def test_a_refused_direct_write_falls_back_to_buffered(direct_dir, monkeypatch):
    real, refused = os.pwrite, []

    def pwrite(fd, data, offset):
        if not refused:
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    path = str(direct_dir / "f")
    f = direct.open_direct(path)
    payload = os.urandom(STAGING + 4097)
    f.write(payload)
    f.close()
    assert refused == [0] and not f._direct
    with open(path, "rb") as got:
        assert got.read() == payload


def test_open_direct_returns_none_and_leaves_nothing_where_refused(tmp_path, monkeypatch):
    real = os.open

    def refuse(path, flags, mode=0o777):
        if flags & getattr(os, "O_DIRECT", 0):
            real(path, flags & ~os.O_DIRECT, mode)  # some file systems create, then refuse
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(path, flags, mode)

    monkeypatch.setattr(os, "open", refuse)
    assert direct.open_direct(str(tmp_path / "f")) is None
    assert os.listdir(tmp_path) == []
    with direct.background_writes():  # the writer then writes buffered, as always
        storage.write_bytes_atomically(tmp_path / "g", b"data")
    assert (tmp_path / "g").read_bytes() == b"data"


def test_atomic_writer_is_direct_only_inside_background_writes(direct_dir):
    with storage.atomic_writer(direct_dir / "plain") as f:
        assert not isinstance(f._file, direct.DirectFile)
        f.write(b"a")
    with direct.background_writes():
        with storage.atomic_writer(direct_dir / "direct") as f:
            assert isinstance(f._file, direct.DirectFile)
            f.write(np.arange(1001, dtype=np.float32))
        assert direct.enabled()
    assert not direct.enabled()
    assert (direct_dir / "direct").read_bytes() == np.arange(1001, dtype=np.float32).tobytes()
    assert [n for n in os.listdir(direct_dir) if storage.is_temp_name(n)] == []


def test_a_failed_direct_write_is_a_storage_error_and_leaves_no_temp(direct_dir, monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with direct.background_writes(), pytest.raises(StorageError, match="No space left"):
        with storage.atomic_writer(direct_dir / "x") as f:
            f.write(os.urandom(STAGING))
    assert os.listdir(direct_dir) == []


def test_async_save_writes_direct_and_the_same_bytes_as_a_sync_save(direct_dir, monkeypatch):
    opened = []
    real = direct.DirectFile.__init__
    monkeypatch.setattr(direct.DirectFile, "__init__",
                        lambda self, fd: (opened.append(fd), real(self, fd))[1])
    model = keras.Sequential([keras.layers.Dense(300, input_shape=(7,)), keras.layers.Dense(3)])
    model.save_weights(str(direct_dir / "sync" / "cp.ckpt"))
    assert opened == []
    model.save_weights(str(direct_dir / "async" / "cp.ckpt"), save_async=True)
    async_saver.wait_for(model)
    assert len(opened) >= 2  # data and index
    for name in ("cp.ckpt.index", "cp.ckpt.data-00000-of-00001"):
        assert (direct_dir / "async" / name).read_bytes() == \
            (direct_dir / "sync" / name).read_bytes()
