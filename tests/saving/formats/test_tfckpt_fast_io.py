"""The fast paths of bundle I/O: overlapped checksums, read_many_into, helper threads, commits."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch

from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import bundle, crc, layout, parallel
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader, write_bundle
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array

BIG = (bundle._OVERLAP_CRC_BYTES // 4) + 7  # float32 elements: above the overlap threshold


def _state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"big_a": rng.random(BIG, dtype=np.float32),
            "big_b": rng.random((BIG // 3, 3), dtype=np.float32),
            "small": rng.integers(0, 9, 10).astype(np.int64)}


def test_big_tensors_checksums_match_an_independent_crc(tmp_path):
    prefix = str(tmp_path / "cp")
    state = _state()
    write_bundle(prefix, state)
    with BundleReader(prefix) as r:
        for name, array in state.items():
            assert r.entry(name).crc32c == crc.mask(crc.value(array.tobytes()))
            np.testing.assert_array_equal(r.get_tensor(name), array)


def test_read_many_into_copies_every_tensor_bit_exactly(tmp_path):
    prefix = str(tmp_path / "cp")
    state = _state(1)
    bits = np.arange(5, dtype=np.uint16)
    write_bundle(prefix, {**state, "bf": BFloat16Array(bits)})
    outs = {k: np.zeros_like(v) for k, v in state.items()}
    bf_out = BFloat16Array(np.zeros(5, np.uint16))
    with BundleReader(prefix) as r:
        r.read_many_into([*outs.items(), ("bf", bf_out)])
    for name, array in state.items():
        assert np.array_equal(outs[name], array)
    assert np.array_equal(bf_out.bits, bits)


def test_read_many_into_into_torch_memory(tmp_path):
    prefix = str(tmp_path / "cp")
    state = _state(2)
    write_bundle(prefix, state)
    targets = {k: torch.zeros(v.shape, dtype=torch.from_numpy(v).dtype) for k, v in state.items()}
    with BundleReader(prefix) as r:
        r.read_many_into({k: t.numpy() for k, t in targets.items()})
    for name, array in state.items():
        assert torch.equal(targets[name], torch.from_numpy(array))


def test_read_many_into_touches_nothing_when_a_later_tensor_is_damaged(tmp_path):
    prefix = str(tmp_path / "cp")
    state = _state(3)
    write_bundle(prefix, state)
    with BundleReader(prefix) as r:
        offset = r.entry("small").offset
    path = layout.data_path(prefix, 0, 1)
    data = bytearray(open(path, "rb").read())
    data[offset] ^= 0x01
    open(path, "wb").write(bytes(data))
    outs = {k: np.full_like(v, 7) for k, v in state.items()}
    with BundleReader(prefix) as r, pytest.raises(FormatError,
                                                  match=r'Checksum mismatch for tensor "small"'):
        r.read_many_into(outs)
    assert all((o == 7).all() for o in outs.values())


def test_read_many_into_refuses_a_read_only_target(tmp_path):
    prefix = str(tmp_path / "cp")
    write_bundle(prefix, {"w": np.ones(3, np.float32)})
    out = np.zeros(3, np.float32)
    out.flags.writeable = False
    with BundleReader(prefix) as r, pytest.raises(ValueError, match="Expected a writable array"):
        r.read_many_into({"w": out})


def test_run_all_runs_every_task_and_raises_the_first_error():
    seen, lock = [], threading.Lock()

    def task(i):
        def fn():
            with lock:
                seen.append(i)
        return fn

    tasks = [(parallel.BIG_TASK_BYTES * (i % 3), task(i)) for i in range(12)]
    parallel.run_all(tasks)
    assert sorted(seen) == list(range(12))

    def boom():
        raise FormatError("Checksum mismatch for tensor x")
    with pytest.raises(FormatError, match="Checksum mismatch for tensor x"):
        parallel.run_all([(parallel.BIG_TASK_BYTES, boom), (parallel.BIG_TASK_BYTES, task(99))])
    assert 99 in seen


def test_pending_runs_inline_when_no_thread_can_start(monkeypatch):
    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert parallel.start(lambda: "inline").result() == "inline"
    with pytest.raises(ZeroDivisionError):
        parallel.start(lambda: 1 / 0).result()


def test_commit_after_sync_fsyncs_once_and_can_leave_the_directory(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    monkeypatch.setattr(storage, "fsync_dir", lambda d: calls.append(("dir", d)))
    writer = storage.atomic_writer(tmp_path / "a.bin")
    writer.write(b"abc")
    writer.sync()
    writer.commit(sync_dir=False)
    assert len(calls) == 1 and open(tmp_path / "a.bin", "rb").read() == b"abc"
    writer = storage.atomic_writer(tmp_path / "b.bin")
    writer.write(b"x")
    writer.sync()
    writer.write(b"y")  # written after the sync: commit must fsync again
    writer.commit()
    assert len(calls) == 4 and calls[-1] == ("dir", str(tmp_path))
    assert open(tmp_path / "b.bin", "rb").read() == b"xy"


def test_bundle_save_syncs_each_file_once_and_the_directory_once(tmp_path, monkeypatch):
    syncs, dirs = [], []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(fd), real(fd))[1])
    monkeypatch.setattr(storage, "fsync_dir", lambda d: dirs.append(d))
    write_bundle(str(tmp_path / "cp"), _state(4))
    assert len(syncs) == 2 and dirs == [str(tmp_path)]


def test_restore_writes_in_place_and_stages_what_cannot_be_viewed(tmp_path):
    from savepoint.layers.variable import Variable
    from savepoint.saving.engine.checkpoint_io import restore_tree, save_tree
    from savepoint.trackable import TrackableList

    def variables(fill):
        return [Variable(torch.full((3, 2), fill), name="w", path="w"),
                Variable(torch.full((2, 3), fill).t(), name="t", path="t"),  # not contiguous
                Variable(torch.full((2,), int(fill), dtype=torch.int64), name="i", path="i")]

    prefix = str(tmp_path / "ckpt")
    saved = variables(5.0)
    save_tree(TrackableList(saved), prefix)
    fresh = variables(0.0)
    memory, version = fresh[0].value.data_ptr(), fresh[0].value._version
    restore_tree(TrackableList(fresh), prefix)
    for ours, theirs in zip(fresh, saved):
        assert torch.equal(ours.value, theirs.value)
    assert fresh[0].value.data_ptr() == memory  # written in place, straight from the file
    assert fresh[0].value._version > version  # marked written, as copy_ would


@pytest.mark.parametrize("seed", range(6))
def test_crc_combine_equals_one_pass_crc_on_odd_lengths(seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, int(rng.integers(1, 200_000)), dtype=np.uint8).tobytes()
    cuts = sorted({0, len(data), *rng.integers(0, len(data), 5).tolist()})
    parts = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    assert crc.combine_all([crc.value(p) for p in parts], [len(p) for p in parts]) == \
        crc.value(data)
    assert crc.combine(crc.value(b""), crc.value(data), len(data)) == crc.value(data)
    assert crc.combine(crc.value(data), crc.value(b""), 0) == crc.value(data)


def test_crc_combine_refuses_a_negative_length():
    with pytest.raises(ValueError, match="Expected a byte count >= 0 for the second piece"):
        crc.combine(1, 2, -1)


def _pieces_small(monkeypatch, size: int = 4096) -> None:
    from savepoint.saving.formats.tf_checkpoint import reader
    monkeypatch.setattr(reader, "_CHUNK_BYTES", size)
    monkeypatch.setattr(parallel, "BIG_TASK_BYTES", 1)  # every piece goes to a helper thread


def test_big_tensors_are_checksummed_in_pieces(tmp_path, monkeypatch):
    _pieces_small(monkeypatch)
    prefix = str(tmp_path / "cp")
    state = {"w": np.random.default_rng(5).random(10_001, dtype=np.float32)}  # 40,004 bytes
    write_bundle(prefix, state)
    sizes, real = [], crc.value
    out = np.zeros_like(state["w"])
    with BundleReader(prefix) as r:
        monkeypatch.setattr(crc, "value", lambda data: (sizes.append(len(memoryview(data))),
                                                         real(data))[1])
        r.read_many_into({"w": out})
    assert sorted(sizes) == [40_004 - 9 * 4096] + [4096] * 9
    assert np.array_equal(out, state["w"])


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_bit_flip_in_any_piece_of_a_big_tensor_is_caught_and_nothing_is_written(
        tmp_path, monkeypatch, where):
    _pieces_small(monkeypatch)
    prefix = str(tmp_path / "cp")
    state = {"a": np.arange(5, dtype=np.int64),
             "w": np.random.default_rng(6).random(10_001, dtype=np.float32)}
    write_bundle(prefix, state)
    with BundleReader(prefix) as r:
        entry = r.entry("w")
    flip = {"first": 0, "middle": 4096 * 4 + 123, "last": entry.size - 1}[where]
    path = layout.data_path(prefix, 0, 1)
    data = bytearray(open(path, "rb").read())
    data[entry.offset + flip] ^= 0x10
    open(path, "wb").write(bytes(data))
    outs = {"a": np.full(5, 7, np.int64), "w": np.full(10_001, 7, np.float32)}
    with BundleReader(prefix) as r, pytest.raises(FormatError,
                                                  match=r'Checksum mismatch for tensor "w"'):
        r.read_many_into(outs)
    assert (outs["a"] == 7).all() and (outs["w"] == 7).all()
