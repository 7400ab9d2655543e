"""Crash consistency: SIGKILL at random moments never leaves a bad latest checkpoint; a full disk
fails the save with a StorageError and leaves the previous checkpoint and state file intact.

A fork server (crash_child.py) trains and saves every 2 batches; the test kills each trainer after
a random delay, then checks that ``latest_checkpoint`` names a checkpoint that loads into the
model with every tensor's checksum verified, and that the next successful save leaves no
temporary file behind.
"""

import errno
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import SavepointError, StorageError
from savepoint.saving import storage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from crash_child import make_model  # noqa: E402


class ForkServer:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(HERE, "..", "..", "src"), os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "crash_child.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        assert self._read() == "ready"

    def _read(self) -> str:
        line = self.proc.stdout.readline().strip()
        assert line, f"the fork server died (exit {self.proc.poll()})"
        return line

    def kill_after(self, mode: str, directory: str, generation: int, delay: float,
                   wait_for_checkpoint: bool = False) -> None:
        self.proc.stdin.write(f"{mode} {directory} {generation}\n")
        self.proc.stdin.flush()
        pid = int(self._read().split()[1])
        if wait_for_checkpoint:
            deadline = time.monotonic() + 60
            while keras.train.latest_checkpoint(directory) is None:
                assert time.monotonic() < deadline, "the trainer wrote no checkpoint in 60 s"
                time.sleep(0.01)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        status = int(self._read().split()[1])
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
            f"the trainer ended on its own (status {status}) instead of being killed"

    def run_to_end(self, mode: str, directory: str) -> None:
        self.proc.stdin.write(f"{mode} {directory} 0\n")
        self.proc.stdin.flush()
        self._read()
        status = int(self._read().split()[1])
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"status {status}"

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server():
    s = ForkServer()
    yield s
    s.close()


def check_latest(directory: str, mode: str, model) -> str:
    latest = keras.train.latest_checkpoint(directory)
    assert latest is not None, f"no valid latest checkpoint in {os.listdir(directory)}"
    with keras.train.load_checkpoint(latest) as reader:  # every tensor's checksum verified
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    if mode == "manager":
        status = keras.train.Checkpoint(model=model, optimizer=model.optimizer).read(latest)
    else:
        status = model.load_weights(latest)
    status.assert_existing_objects_matched().expect_partial()
    return latest


def save_again_leaves_no_temp_files(directory: str, mode: str, model) -> None:
    if mode == "manager":
        checkpoint = keras.train.Checkpoint(model=model, optimizer=model.optimizer)
        keras.train.CheckpointManager(checkpoint, directory, max_to_keep=2).save()
    else:
        model.save_weights(os.path.join(directory, "cp.ckpt"))
    left = [n for n in os.listdir(directory) if storage.is_temp_name(n)]
    assert not left, f"temporary files left after a successful save: {left}"


def run_trials(server, tmp_path, mode: str, trials: int, seed: int) -> None:
    directory = str(tmp_path / mode)
    os.makedirs(directory)
    model = make_model()
    rand = random.Random(seed)
    for trial in range(trials):
        server.kill_after(mode, directory, trial, rand.uniform(0.0, 0.25),
                          wait_for_checkpoint=trial == 0)
        check_latest(directory, mode, model)
        if trial % 5 == 4:
            save_again_leaves_no_temp_files(directory, mode, model)


@pytest.mark.parametrize("mode,trials", [("model_checkpoint", 25), ("manager", 25)])
def test_sigkill_at_random_moments_leaves_a_valid_latest_checkpoint(server, tmp_path, mode,
                                                                    trials):
    run_trials(server, tmp_path, mode, trials, seed=trials)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["model_checkpoint", "manager"])
def test_sigkill_many_times(server, tmp_path, mode):
    run_trials(server, tmp_path, mode, 150, seed=7)


def test_backup_and_restore_resumes_bitwise_after_sigkill(server, tmp_path):
    """SIGKILL mid-run (wherever the random delay lands: mid-epoch, mid-save, in validation),
    rerun the same script: the final weights equal an uninterrupted run's, bit for bit."""
    reference, resumed = str(tmp_path / "reference"), str(tmp_path / "resumed")
    server.run_to_end("backup", reference)
    server.kill_after("backup", resumed, 0, 0.0,
                      wait_for_checkpoint=False)  # killed at once: nothing saved yet
    rand = random.Random(3)
    chief = os.path.join(resumed, "backup", "chief")
    for _ in range(3):
        server.proc.stdin.write(f"backup {resumed} 0\n")
        server.proc.stdin.flush()
        pid = int(server._read().split()[1])
        deadline = time.monotonic() + 60
        while keras.train.latest_checkpoint(chief) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rand.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        server._read()  # killed, or finished just before the signal: both are fine
    if os.path.exists(os.path.join(resumed, "weights.npz")):
        os.remove(os.path.join(resumed, "weights.npz"))
    assert os.path.isdir(chief) or not os.path.exists(os.path.join(resumed, "backup"))
    server.run_to_end("backup", resumed)
    with np.load(os.path.join(reference, "weights.npz")) as a, \
            np.load(os.path.join(resumed, "weights.npz")) as b:
        assert len(a.files) == 4
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name])
    assert not os.path.exists(os.path.join(resumed, "backup"))  # deleted after success


# ----- a full disk -------------------------------------------------------------------------------
class FullDisk:
    """Replaces ``open`` in storage: files accept ``quota`` bytes in all, then raise ENOSPC
    (after writing what still fits, as a real full disk does)."""

    def __init__(self, quota: int):
        self.left = quota

    def open(self, path, mode="r", buffering=-1):
        real = open(path, mode, buffering=0 if "b" in mode and "r" not in mode else buffering)
        return real if "r" in mode else _FullFile(real, self)


class _FullFile:
    def __init__(self, real, disk):
        self.real, self.disk = real, disk

    def write(self, data):
        view = memoryview(data).cast("B")
        fits = min(len(view), self.disk.left)
        self.real.write(view[:fits])
        self.disk.left -= fits
        if fits < len(view):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fits

    def flush(self):
        pass

    def fileno(self):
        return self.real.fileno()

    def close(self):
        self.real.close()


def fill_disk(monkeypatch, quota: int) -> None:
    """Every file storage creates accepts ``quota`` bytes in all (``AtomicWriter`` opens its
    temporary files through ``storage.direct``)."""
    disk = FullDisk(quota)
    monkeypatch.setattr(storage, "open", disk.open, raising=False)
    monkeypatch.setattr(storage.direct, "open", disk.open, raising=False)


def _bytes_of_save(tmp_path, save) -> int:
    directory = tmp_path / "measure"
    save(str(directory))
    return sum(os.path.getsize(directory / n) for n in os.listdir(directory))


@pytest.mark.parametrize("api", ["save_weights", "manager"])
def test_full_disk_fails_with_storage_error_and_keeps_previous_checkpoint(tmp_path, monkeypatch,
                                                                          api):
    keras.utils.set_random_seed(0)
    model = make_model()
    model.train_on_batch(np.random.rand(8, 8).astype("float32"), np.arange(8) % 4)
    old = model.get_weights()

    managers = {}

    def save(directory):
        if api == "manager":
            return managers.setdefault(directory, keras.train.CheckpointManager(
                keras.train.Checkpoint(model=model), directory, max_to_keep=1)).save()
        return model.save_weights(os.path.join(directory, "cp.ckpt"))

    total = _bytes_of_save(tmp_path, save)
    directory = str(tmp_path / "ckpt")
    save(directory)
    state = storage.read_bytes(os.path.join(directory, "checkpoint"))
    bundle_bytes = total - len(state)  # beyond this, only the state file update fails
    files = sorted(os.listdir(directory))
    new = [w + 1 for w in old]
    for quota in sorted({0, 1, 100, total // 2, bundle_bytes - 1, bundle_bytes + 5}):
        model.set_weights(new)  # what the failed save tries to write
        fill_disk(monkeypatch, quota)
        with pytest.raises(StorageError, match=r"Could not write '.*': No space left on device "
                                               r"\(ENOSPC\)\. Nothing was replaced: the previous "
                                               r"file, if any, is intact\. Fix: free space"):
            save(directory)
        monkeypatch.undo()
        now = os.listdir(directory)
        assert set(files) <= set(now) and not [n for n in now if storage.is_temp_name(n)]
        assert storage.read_bytes(os.path.join(directory, "checkpoint")) == state
        fresh, latest = make_model(), keras.train.latest_checkpoint(directory)
        if api == "manager":
            keras.train.Checkpoint(model=fresh).read(latest).expect_partial()
        else:
            fresh.load_weights(latest).expect_partial()
        got = fresh.get_weights()
        # a failed bundle changes nothing; when only the state file failed, the old state
        # names a complete checkpoint: the old one, or (same path rewritten) the new one
        expected = [old] if quota < bundle_bytes or api == "manager" else [old, new]
        assert any(all(np.array_equal(a, b) for a, b in zip(e, got)) for e in expected), quota


def test_storage_error_is_a_savepoint_error_and_an_os_error(tmp_path, monkeypatch):
    fill_disk(monkeypatch, 3)
    with pytest.raises(StorageError) as info:
        storage.write_bytes_atomically(str(tmp_path / "x.bin"), b"more than three bytes")
    assert isinstance(info.value, SavepointError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_stale_temp_files_of_dead_writers_go_live_ones_stay(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".cp.ckpt.index.tmp-{dead}-0123456789ab"
    older = tmp_path / ".cp.ckpt.index.tmp-0123456789ab"  # a name from before pids were used
    alive = tmp_path / f".cp.ckpt.index.tmp-{os.getppid()}-0123456789ab"
    for path in (stale, older, alive):
        path.write_bytes(b"x")
    with storage.atomic_writer(str(tmp_path / "open.bin")) as writer:
        writer.write(b"data")
        removed = storage.remove_stale_temp_files(str(tmp_path))
        assert sorted(removed) == sorted([stale.name, older.name])
        assert os.path.exists(writer.temp_path) and alive.exists()
