"""Rewriting one prefix (the tutorial's ``training_1/cp.ckpt``) under crashes and concurrent readers.

The guarantee (docs/RELIABILITY.md): at every instant, the literal prefix and
``latest_checkpoint`` both load, whole, either the old weights or the new ones, under repeated
crashes, including a crash during the save that follows a crash; a concurrent reader never sees
a torn pair. Proved three ways:

- every file operation of the save path is a crash point (``storage.FAULT_HOOK``); a forked child
  dies with ``os._exit`` at operation k1, a second child at k2 of the recovery save, for every
  pair (k1, k2), with and without a state file; after each crash both loads are checked;
- a soak: trainers rewriting ``cp.ckpt`` every batch (sync, and async mixed with sync) are
  SIGKILLed at random moments without cleaning up between kills;
- a reader process loads the literal prefix and ``latest_checkpoint`` in a loop while a trainer
  rewrites the prefix every batch: every load succeeds.
"""

import os
import random
import signal
import subprocess
import sys
import time
import traceback

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import FormatError
from savepoint.saving import storage
from savepoint.saving.engine import checkpoint_io
from savepoint.saving.formats.tf_checkpoint import layout, rewrite, write_bundle
from savepoint.saving.api.weights_api import WeightsRoot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from crash_child import make_model  # noqa: E402
from test_crash_consistency import ForkServer  # noqa: E402

CRASHED = 77


def generations(count: int) -> tuple[list[dict], list[list[np.ndarray]]]:
    """``count`` snapshots of one model with different weights, and those weights."""
    keras.utils.set_random_seed(0)
    model = make_model()
    model.train_on_batch(np.random.rand(8, 8).astype("float32"), np.arange(8) % 4)
    snaps, weights = [], []
    for g in range(count):
        model.set_weights([np.random.rand(*w.shape).astype(w.dtype) for w in model.get_weights()])
        snap = checkpoint_io.snapshot(WeightsRoot(model))
        snaps.append({k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                      for k, v in snap.items()})
        weights.append(model.get_weights())
    return snaps, weights


def persist_in_child(snapshot: dict, prefix: str, state_dir, crash_at: int) -> int:
    """Run ``persist`` in a forked child that dies at file operation ``crash_at``; return
    ``CRASHED`` or 0 (the save finished before reaching it)."""
    pid = os.fork()
    if pid == 0:
        try:
            count = [0]

            def hook(operation, path):
                if count[0] == crash_at:
                    os._exit(CRASHED)
                count[0] += 1
            storage.FAULT_HOOK = hook
            checkpoint_io.persist(snapshot, prefix, state_dir)
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status)
    assert code in (0, CRASHED), f"the saving child failed (exit {code})"
    return code


def loaded(model, path) -> list[np.ndarray]:
    model.load_weights(path).expect_partial()
    return model.get_weights()


def which(weights: list[np.ndarray], gens: list[list[np.ndarray]]) -> int:
    for g, expected in enumerate(gens):
        if all(np.array_equal(a, b) for a, b in zip(weights, expected)):
            return g
    raise AssertionError("the loaded weights are none of the saved generations")


def observe(model, directory: str, prefix: str, gens, with_state: bool) -> tuple[int, int | None]:
    """Load the literal prefix and the latest checkpoint; return their generations. Every
    checksum is verified by the loads, by ``verify`` and by ``load_checkpoint``."""
    at_prefix = which(loaded(model, prefix), gens)
    keras.train.verify(prefix)
    with keras.train.load_checkpoint(prefix):
        pass
    if not with_state:
        return at_prefix, None
    latest = keras.train.latest_checkpoint(directory)
    assert latest is not None
    at_latest = which(loaded(model, latest), gens)
    keras.train.verify(directory)
    return at_prefix, at_latest


def count_operations(snaps, tmp_path, with_state: bool) -> int:
    directory = str(tmp_path / "count")
    prefix = os.path.join(directory, "cp.ckpt")
    state_dir = directory if with_state else None
    checkpoint_io.persist(snaps[0], prefix, state_dir)
    ops = []
    storage.FAULT_HOOK = lambda op, path: ops.append((op, os.path.basename(path)))
    try:
        checkpoint_io.persist(snaps[1], prefix, state_dir)
    finally:
        storage.FAULT_HOOK = None
    return len(ops)


@pytest.mark.parametrize("with_state", [True, False], ids=["save_weights", "checkpoint_write"])
def test_crash_at_every_operation_twice_in_a_row(tmp_path, with_state):
    snaps, gens = generations(4)
    model = make_model()
    n_ops = count_operations(snaps, tmp_path, with_state)
    assert n_ops >= 8  # stage (2 renames), state, 2 links, state, 4 removals at least
    template = str(tmp_path / "template")
    checkpoint_io.persist(snaps[0], os.path.join(template, "cp.ckpt"),
                          template if with_state else None)
    pairs = 0
    for first in range(n_ops):
        for second in range(n_ops + 2):
            directory = str(tmp_path / f"t{first}-{second}")
            subprocess.run(["cp", "-a", template, directory], check=True)
            prefix = os.path.join(directory, "cp.ckpt")
            state_dir = directory if with_state else None
            before = observe(model, directory, prefix, gens, with_state)
            assert persist_in_child(snaps[1], prefix, state_dir, first) == CRASHED
            after_first = observe(model, directory, prefix, gens, with_state)
            for now, then in zip(after_first, before):
                assert now in (then, 1), (first, after_first)
            finished = persist_in_child(snaps[2], prefix, state_dir, second) == 0
            after_second = observe(model, directory, prefix, gens, with_state)
            for now, then in zip(after_second, after_first):
                assert now in (then, 2), (first, second, after_first, after_second)
            checkpoint_io.persist(snaps[3], prefix, state_dir)  # a clean save recovers all
            assert observe(model, directory, prefix, gens, with_state) == \
                (3, 3 if with_state else None)
            assert sorted(n for n in os.listdir(directory)) == sorted(
                (["checkpoint"] if with_state else []) +
                ["cp.ckpt.data-00000-of-00001", "cp.ckpt.index"])
            pairs += 1
            if finished:
                break  # the recovery save has no operation ``second``: every later k is this
    assert pairs > n_ops * 3


def test_the_staged_name_never_overwrites_what_the_state_file_names(tmp_path):
    """The issue's data loss: a crash leaves the state file naming the staged copy, the next
    save rewrote those very files, and a second crash lost the newest good checkpoint."""
    snaps, gens = generations(3)
    directory = str(tmp_path)
    prefix = os.path.join(directory, "cp.ckpt")
    checkpoint_io.persist(snaps[0], prefix, directory)
    ops = []
    storage.FAULT_HOOK = lambda op, path: ops.append((op, path))
    try:
        checkpoint_io.persist(snaps[1], prefix, directory)
    finally:
        storage.FAULT_HOOK = None
    links = [i for i, (op, _) in enumerate(ops) if op == "link"]
    assert persist_in_child(snaps[1], prefix, directory, links[0] + 1) == CRASHED  # P torn
    named = keras.train.latest_checkpoint(directory)
    assert named.startswith(prefix + ".staged-")
    written = []
    storage.FAULT_HOOK = lambda op, path: written.append(path)
    try:
        checkpoint_io.persist(snaps[2], prefix, directory)
    finally:
        storage.FAULT_HOOK = None
    replaced = [p for p in written if p.startswith(named + ".")]
    assert replaced == [layout.index_path(named), layout.data_path(named)], \
        "only the final clean-up may touch what the state file named"
    assert which(loaded(make_model(), prefix), gens) == 2


def test_a_torn_prefix_without_a_staged_copy_still_fails_loudly(tmp_path):
    """Real damage is not hidden: with no staged copy, the checksum error is raised."""
    snaps, _ = generations(2)
    a, b = str(tmp_path / "a" / "cp.ckpt"), str(tmp_path / "b" / "cp.ckpt")
    write_bundle(a, snaps[0])
    write_bundle(b, snaps[1])
    os.replace(layout.data_path(b), layout.data_path(a))
    with pytest.raises(FormatError, match=r"Checksum mismatch for tensor .* The data file .* is "
                                          r"damaged\. Fix: restore it from a backup or re-save"):
        make_model().load_weights(a)
    assert rewrite.candidates(a) == [a]


def kill_and_check(server, mode, directory, trials, seed):
    rand = random.Random(seed)
    model = make_model()
    prefix = os.path.join(directory, "cp.ckpt")
    for trial in range(trials):
        server.kill_after(mode, directory, trial, rand.uniform(0.0, 0.3),
                          wait_for_checkpoint=trial == 0)
        model.load_weights(prefix).expect_partial()  # the literal prefix: whole
        model.load_weights(keras.train.latest_checkpoint(directory)).expect_partial()
        keras.train.verify(prefix)
        keras.train.verify(directory)
    left = [n for n in os.listdir(directory) if n.startswith("cp.ckpt.staged-")
            or storage.is_temp_name(n)]
    model.save_weights(prefix)  # the first save after the last crash cleans everything up
    assert sorted(os.listdir(directory)) == \
        ["checkpoint", "cp.ckpt.data-00000-of-00001", "cp.ckpt.index"], left


@pytest.fixture(scope="module")
def server():
    s = ForkServer()
    yield s
    s.close()


@pytest.mark.parametrize("mode,trials", [("fixed", 25), ("fixed_mixed", 25)])
def test_sigkill_soak_of_one_rewritten_prefix(server, tmp_path, mode, trials):
    kill_and_check(server, mode, str(tmp_path), trials, seed=trials)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fixed", "fixed_mixed"])
def test_sigkill_soak_many_times(server, tmp_path, mode):
    kill_and_check(server, mode, str(tmp_path), 200, seed=11)


def test_a_concurrent_reader_never_sees_a_torn_pair(server, tmp_path):
    directory = str(tmp_path)
    prefix = os.path.join(directory, "cp.ckpt")
    server.proc.stdin.write(f"fixed {directory} 0\n")
    server.proc.stdin.flush()
    pid = int(server._read().split()[1])
    try:
        deadline = time.monotonic() + 60
        while keras.train.latest_checkpoint(directory) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        model, loads, end = make_model(), 0, time.monotonic() + 4.0
        while time.monotonic() < end:
            model.load_weights(prefix).expect_partial()
            model.load_weights(keras.train.latest_checkpoint(directory)).expect_partial()
            with keras.train.load_checkpoint(prefix) as reader:
                reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
            loads += 3
        assert loads > 30
    finally:
        os.kill(pid, signal.SIGKILL)
        server._read()
