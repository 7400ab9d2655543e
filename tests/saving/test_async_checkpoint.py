"""Asynchronous checkpoints: same bytes as sync saves, snapshot isolation, ordering, back-pressure,
buffer reuse, errors never lost (ENOSPC fake), fit waits, process exit waits."""

import errno
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import AsyncSaveError, ConfigError
from savepoint.saving import storage
from savepoint.saving.engine import async_saver
from savepoint.saving.engine import checkpoint_io
from savepoint.saving.mapping import object_graph as graph_lib
from savepoint.saving.engine.async_saver import AsyncSaver, HostBuffers
from savepoint.saving.api.checkpoint import Checkpoint
from savepoint.saving.api.checkpoint_manager import CheckpointManager
from savepoint.saving.options import CheckpointOptions, resolve
from savepoint.train import latest_checkpoint, load_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def trained_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                              keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(seed)
    model.fit(rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16),
              batch_size=8, epochs=1, verbose=0)
    return model


def files_of(directory):
    return {name: open(os.path.join(directory, name), "rb").read()
            for name in sorted(os.listdir(directory))}


def weights_of(model):
    return [w.numpy().copy() for w in model.weights]


@pytest.fixture(autouse=True)
def _drain():
    yield
    try:
        async_saver.wait_all()
    except AsyncSaveError:
        pass


@pytest.fixture
def gate(monkeypatch):
    """Hold every background persist until ``gate.set()`` (released at teardown regardless)."""
    opened = threading.Event()
    real = checkpoint_io.persist

    def held(*args, **kwargs):
        opened.wait()
        real(*args, **kwargs)
    monkeypatch.setattr(checkpoint_io, "persist", held)
    yield opened
    opened.set()


@pytest.fixture
def full_disk(monkeypatch):
    """A storage fake: writing any checkpoint data file fails with ENOSPC."""
    real = storage.AtomicWriter.write

    def write(self, data):
        if ".data-" in self.path:
            raise OSError(errno.ENOSPC, "No space left on device", self.path)
        return real(self, data)
    monkeypatch.setattr(storage.AtomicWriter, "write", write)


# ----------------------------------------------------------------------------- same bytes
def test_async_save_weights_writes_the_bytes_of_a_sync_save(tmp_path):
    model = trained_model()
    model.save_weights(str(tmp_path / "sync" / "cp.ckpt"))
    model.save_weights(str(tmp_path / "async" / "cp.ckpt"), save_async=True)
    model.load_weights(str(tmp_path / "async" / "cp.ckpt"))  # waits for the pending save
    assert files_of(tmp_path / "async") == files_of(tmp_path / "sync")
    assert set(files_of(tmp_path / "sync")) == {"checkpoint", "cp.ckpt.index",
                                                "cp.ckpt.data-00000-of-00001"}


def test_checkpoint_save_and_manager_async_match_sync(tmp_path):
    model = trained_model()
    sync_ckpt, async_ckpt = Checkpoint(model=model), Checkpoint(model=model)
    opts = CheckpointOptions(enable_async=True)
    for _ in range(2):
        sync_ckpt.save(str(tmp_path / "a" / "ckpt"))
        async_ckpt.save(str(tmp_path / "b" / "ckpt"), options=opts)
    async_ckpt.sync()
    assert files_of(tmp_path / "b") == files_of(tmp_path / "a")
    assert latest_checkpoint(str(tmp_path / "b")) == str(tmp_path / "b" / "ckpt-2")

    managers = [CheckpointManager(Checkpoint(model=model), str(tmp_path / d), max_to_keep=2)
                for d in ("m_sync", "m_async")]
    for _ in range(3):
        managers[0].save()
        managers[1].save(options=opts)
    managers[1].sync()
    assert [os.path.basename(p) for p in managers[1].checkpoints] == ["ckpt-2", "ckpt-3"]
    sync_files, async_files = files_of(tmp_path / "m_sync"), files_of(tmp_path / "m_async")
    sync_files.pop("checkpoint"), async_files.pop("checkpoint")  # timestamps differ
    assert async_files == sync_files


def test_write_callbacks_run_after_the_commit(tmp_path):
    model = trained_model()
    seen = []
    opts = CheckpointOptions(enable_async=True, experimental_write_callbacks=[
        lambda p: seen.append((p, os.path.exists(p + ".index")))])
    path = Checkpoint(model=model).write(str(tmp_path / "w"), options=opts)
    async_saver.wait_all()
    assert seen == [(path, True)]


# ----------------------------------------------------------------------------- snapshot semantics
def test_snapshot_is_taken_at_save_time(tmp_path, gate):
    model = trained_model()
    before = weights_of(model)
    prefix = str(tmp_path / "cp.ckpt")
    model.save_weights(prefix, save_async=True)
    for w in model.weights:  # training goes on while the save waits to be written
        w.assign(torch.full(tuple(w.shape), 7, dtype=w.value.dtype))
    gate.set()
    fresh = trained_model(seed=1)
    fresh.load_weights(prefix)
    for got, want in zip(weights_of(fresh), before):
        np.testing.assert_array_equal(got, want)


def test_latest_checkpoint_names_only_committed_checkpoints(tmp_path, gate):
    model = trained_model()
    ckpt = Checkpoint(model=model)
    manager = CheckpointManager(ckpt, str(tmp_path), max_to_keep=3)
    gate.set()
    first = manager.save()
    manager.sync()
    gate.clear()
    second = manager.save(options=CheckpointOptions(enable_async=True))
    assert os.path.basename(second) == "ckpt-2"
    assert latest_checkpoint(str(tmp_path)) == first
    assert manager.latest_checkpoint == first
    assert not os.path.exists(second + ".index")
    gate.set()
    manager.sync()
    assert latest_checkpoint(str(tmp_path)) == second == manager.latest_checkpoint


def test_back_pressure_bounds_the_snapshots_in_flight(tmp_path, gate):
    model = trained_model()
    saver = AsyncSaver(max_in_flight=1)
    saver.save_tree(model, str(tmp_path / "one"))
    assert saver.in_flight == 1
    blocked = threading.Thread(target=saver.save_tree, args=(model, str(tmp_path / "two")))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive() and saver.in_flight == 1  # waits for a free buffer set
    gate.set()
    blocked.join()
    saver.wait()
    assert saver.in_flight == 0
    assert os.path.exists(tmp_path / "two.index")


def test_buffers_are_reused_between_saves(tmp_path):
    model = trained_model()
    saver = AsyncSaver(max_in_flight=1)
    saver.save_tree(model, str(tmp_path / "warm"))
    saver.wait()
    warm = saver.allocations
    assert warm == len(graph_lib.collect(model).keyed_variables)  # one buffer per variable
    for i in range(5):
        model.weights[0].assign(model.weights[0].value + 1)
        saver.save_tree(model, str(tmp_path / f"ckpt{i}"))
    saver.wait()
    assert saver.allocations == warm
    with load_checkpoint(str(tmp_path / "ckpt4")) as reader:
        np.testing.assert_array_equal(
            reader.get_tensor("layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"),
            model.weights[0].numpy())


def test_host_buffers_copy_every_dtype_exactly():
    tensors = [torch.arange(6, dtype=torch.int64).reshape(2, 3),
               torch.tensor([1.5, -2.25], dtype=torch.bfloat16),
               torch.tensor(True), torch.randn(3, dtype=torch.float64)]
    buffers = HostBuffers()
    copies = buffers.copy_in(tensors)
    buffers.wait_ready()
    for src, dst in zip(tensors, copies):
        assert dst.dtype == src.dtype and dst.shape == src.shape and torch.equal(dst, src)
        assert dst.data_ptr() != src.data_ptr()
    assert buffers.nbytes == 48 + 4 + 1 + 24


def test_host_buffers_reuse_the_copy_plan_only_while_memory_stays_put():
    param = torch.nn.Parameter(torch.zeros(4, 3))
    other = torch.zeros(5)
    buffers = HostBuffers()
    buffers.copy_in([param, other])
    plan = buffers._plan
    with torch.no_grad():
        param.add_(1.0)  # in place: same memory, the plan is kept and copies the new values
    copies = buffers.copy_in([param, other])
    assert buffers._plan is plan and torch.equal(copies[0], torch.ones(4, 3))
    param.data = torch.full((4, 3), 7.0)  # same object, new memory: a new plan
    copies = buffers.copy_in([param, other])
    assert buffers._plan is not plan and torch.equal(copies[0], torch.full((4, 3), 7.0))
    replaced = torch.full((4, 3), 9.0)  # another tensor of the same shape in the same place
    copies = buffers.copy_in([replaced, other])
    assert torch.equal(copies[0], replaced) and buffers.allocations == 2


def test_async_saves_never_write_stale_values_after_a_weight_is_replaced(tmp_path):
    model = trained_model()
    saver = AsyncSaver(max_in_flight=1)
    saver.save_tree(model, str(tmp_path / "first"))
    kernel = model.weights[0]
    kernel.value.data = torch.full(kernel.shape, 3.0)  # new memory behind the same variable
    saver.save_tree(model, str(tmp_path / "second"))
    saver.wait()
    with load_checkpoint(str(tmp_path / "second")) as reader:
        np.testing.assert_array_equal(
            reader.get_tensor("layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"),
            np.full(kernel.shape, 3.0, np.float32))


# ----------------------------------------------------------------------------- errors
def test_background_failure_is_raised_by_wait_and_keeps_the_previous_checkpoint(
        tmp_path, monkeypatch):
    model = trained_model()
    prefix = str(tmp_path / "cp.ckpt")
    model.save_weights(prefix)
    before = files_of(tmp_path)
    real = storage.AtomicWriter.write

    def write(self, data):
        if ".data-" in self.path:
            raise OSError(errno.ENOSPC, "No space left on device", self.path)
        return real(self, data)
    monkeypatch.setattr(storage.AtomicWriter, "write", write)
    model.weights[0].assign(model.weights[0].value * 2)
    model.save_weights(prefix, save_async=True)  # returns: the failure happens in the background
    saver = async_saver.saver_for(model, CheckpointOptions())
    with pytest.raises(AsyncSaveError, match=r"Background checkpoint save to '.*cp\.ckpt' "
                       r"failed: OSError: \[Errno 28\] No space left on device") as info:
        saver.wait()
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC
    assert files_of(tmp_path) == before  # old checkpoint, old state file, no temp files
    saver.wait()  # reported once


def test_background_failure_is_raised_at_the_next_save(tmp_path, full_disk, monkeypatch):
    model = trained_model()
    model.save_weights(str(tmp_path / "a"), save_async=True)
    async_saver.saver_for(model).wait(raise_errors=False)  # failed; the error is kept
    monkeypatch.undo()
    with pytest.raises(AsyncSaveError, match=r"save to '.*a' failed.*Fix: resolve the cause"):
        model.save_weights(str(tmp_path / "b"), save_async=True)
    model.save_weights(str(tmp_path / "b"), save_async=True)  # the error was raised once
    async_saver.wait_all()
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "b")


def test_fit_raises_a_background_failure_and_waits_for_saves(tmp_path, full_disk):
    model = trained_model()
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "cp-{epoch:02d}.ckpt"),
                                         save_weights_only=True, save_async=True)
    x, y = np.zeros((8, 4), "float32"), np.zeros(8, "int64")
    with pytest.raises(AsyncSaveError, match="No space left on device"):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path)) == []


def test_fit_returns_with_every_async_save_committed_and_pruned(tmp_path):
    model = trained_model()
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "cp-{epoch:04d}.ckpt"),
                                         save_weights_only=True, save_async=True, max_to_keep=2)
    rng = np.random.default_rng(3)
    model.fit(rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16), epochs=4,
              batch_size=8, verbose=0, callbacks=[cb])
    assert async_saver.saver_for(model).in_flight == 0
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "cp-0004.ckpt")
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint", "cp-0003.ckpt.data-00000-of-00001", "cp-0003.ckpt.index",
        "cp-0004.ckpt.data-00000-of-00001", "cp-0004.ckpt.index"]
    model.save_weights(str(tmp_path / "sync" / "cp-0004.ckpt"))  # the final state, synchronously
    for suffix in (".index", ".data-00000-of-00001"):
        assert open(tmp_path / f"cp-0004.ckpt{suffix}", "rb").read() == \
            open(tmp_path / "sync" / f"cp-0004.ckpt{suffix}", "rb").read()


def test_pending_saves_complete_at_process_exit(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, savepoint as keras
        from savepoint.saving import storage
        from savepoint.saving.engine import checkpoint_io
        model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
        for i in range(3):
            model.save_weights({str(tmp_path)!r} + f"/cp-{{i}}.ckpt", save_async=True)
        real = storage.AtomicWriter.write
        def write(self, data):
            if "cp-bad" in self.path:
                raise OSError(28, "No space left on device", self.path)
            return real(self, data)
        storage.AtomicWriter.write = write
        other = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
        other.save_weights({str(tmp_path)!r} + "/bad/cp-bad.ckpt", save_async=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": "src"})
    assert done.returncode == 0, done.stderr
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "cp-2.ckpt")
    assert all(os.path.exists(tmp_path / f"cp-{i}.ckpt.index") for i in range(3))
    assert "savepoint: Background checkpoint save to" in done.stderr
    assert "cp-bad.ckpt' failed: OSError: [Errno 28] No space left on device" in done.stderr


# ----------------------------------------------------------------------------- options and API
def test_checkpoint_options_accept_tensorflow_names_and_round_trip():
    opts = CheckpointOptions(experimental_enable_async_checkpoint=True, max_in_flight=3,
                             experimental_io_device="/job:localhost")
    assert opts.enable_async and opts.experimental_enable_async_checkpoint
    rebuilt = CheckpointOptions.from_config(opts.get_config())
    assert rebuilt == opts and rebuilt.get_config() == opts.get_config()
    config = keras.saving.serialize(opts)
    assert config["class_name"] == "CheckpointOptions"
    assert keras.saving.deserialize(config, "checkpoint_options") == opts
    assert keras.saving.deserialize("checkpoint_options", "checkpoint_options") == \
        CheckpointOptions()
    assert keras.train.CheckpointOptions is CheckpointOptions
    assert resolve(None, save_async=True).enable_async
    assert resolve({"enable_async": True}).enable_async


@pytest.mark.parametrize("kwargs, match", [
    ({"max_in_flight": 0}, r"max_in_flight to be a positive int. Received 0"),
    ({"max_in_flight": True}, r"max_in_flight to be a positive int. Received True"),
    ({"enable_async": "yes"}, r"enable_async to be a bool. Received 'yes'"),
    ({"experimental_io_device": 3}, r"experimental_io_device to be a str or None. Received 3"),
    ({"experimental_write_callbacks": [1]}, r"list of callables. Received \[1\]"),
])
def test_checkpoint_options_refuse_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CheckpointOptions(**kwargs)


def test_bad_async_requests_are_refused(tmp_path):
    model = trained_model()
    with pytest.raises(ConfigError, match=r"Expected options to be a savepoint.train."
                       r"CheckpointOptions .* Received str: 'async'"):
        model.save_weights(str(tmp_path / "cp.ckpt"), options="async")
    with pytest.raises(ConfigError, match=r"Expected save_async to be a bool. Received 1"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m"), save_weights_only=True,
                                        save_async=1)


def test_model_checkpoint_takes_async_from_checkpoint_options(tmp_path):
    cb = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "cp.ckpt"), save_weights_only=True,
        options=CheckpointOptions(experimental_enable_async_checkpoint=True))
    assert cb.save_async is True


def test_saver_for_replaces_a_saver_whose_limit_changed(tmp_path):
    model = trained_model()
    first = async_saver.saver_for(model, CheckpointOptions(max_in_flight=2))
    model.save_weights(str(tmp_path / "a"), options=CheckpointOptions(enable_async=True))
    second = async_saver.saver_for(model, CheckpointOptions(max_in_flight=1))
    assert second is not first and second.max_in_flight == 1 and first.in_flight == 0
    assert os.path.exists(tmp_path / "a.index")
