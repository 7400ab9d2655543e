"""Crash consistency on object storage: a writer killed at any storage step of a save never
leaves a checkpoint that ``latest_checkpoint`` names but that cannot load.

On S3 every step of a save is one atomic object operation: a PUT (or a completed multipart
upload), a server-side copy (``link_replace``), a DELETE. ``storage.FAULT_HOOK`` is called before
each; a forked child runs the save against the loopback S3 server and dies with ``os._exit`` at
step k. After each crash the literal prefix, ``latest_checkpoint`` and ``verify`` must load whole,
old or new weights (the RELIABILITY.md invariants, with copies instead of hard links). A recovery
save killed at step k2 is covered too, and a final clean save leaves TensorFlow's three objects.
A model directory killed mid-upload loads as the old model, the new one, or raises a clear
``SavepointError``, never a mix.
"""

import os
import sys
import traceback

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import SavepointError
from savepoint.saving import storage
from savepoint.saving.engine import checkpoint_io
from savepoint.saving.api.weights_api import WeightsRoot

CRASHED = 77


def make_model():
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(6,)),
                              keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def generations(count):
    keras.utils.set_random_seed(0)
    model = make_model()
    model.train_on_batch(np.random.rand(4, 6).astype("float32"), np.arange(4) % 3)
    snaps, weights = [], []
    for _ in range(count):
        model.set_weights([np.random.rand(*w.shape).astype(w.dtype) for w in model.get_weights()])
        snap = checkpoint_io.snapshot(WeightsRoot(model))
        snaps.append({k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                      for k, v in snap.items()})
        weights.append(model.get_weights())
    return snaps, weights


def in_child(action, crash_at: int) -> int:
    """Run ``action()`` in a forked child that dies at storage step ``crash_at``; return
    ``CRASHED``, or 0 when the action finished before reaching that step."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            count = [0]

            def hook(operation, path):
                if count[0] == crash_at:
                    os._exit(CRASHED)
                count[0] += 1
            storage.FAULT_HOOK = hook
            action()
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status)
    assert code in (0, CRASHED), f"the saving child failed (exit {code})"
    return code


def which(weights, gens) -> int:
    for g, expected in enumerate(gens):
        if all(np.array_equal(a, b) for a, b in zip(weights, expected)):
            return g
    raise AssertionError("the loaded weights are none of the saved generations")


def observe(model, directory, prefix, gens):
    model.load_weights(prefix).expect_partial()
    at_prefix = which(model.get_weights(), gens)
    keras.train.verify(prefix)
    latest = keras.train.latest_checkpoint(directory)
    assert latest is not None
    model.load_weights(latest).expect_partial()
    at_latest = which(model.get_weights(), gens)
    keras.train.verify(directory)
    return at_prefix, at_latest


def count_steps(snaps, root):
    directory = f"{root}/count"
    prefix = f"{directory}/cp.ckpt"
    checkpoint_io.persist(snaps[0], prefix, directory)
    ops = []
    storage.FAULT_HOOK = lambda op, path: ops.append((op, path))
    try:
        checkpoint_io.persist(snaps[1], prefix, directory)
    finally:
        storage.FAULT_HOOK = None
    return ops


@pytest.mark.parametrize("all_pairs", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["torn_pairs", "all_pairs"])
def test_prefix_rewrite_killed_at_every_step_on_s3(bucket, all_pairs):
    snaps, gens = generations(4)
    ops = count_steps(snaps, bucket)
    kinds = {op for op, _ in ops}
    assert {"put", "link", "remove"} <= kinds, ops
    torn = [i for i, (op, _) in enumerate(ops) if op == "link"][0] + 1  # P.data new, index old
    model = make_model()
    # every first crash; the recovery save crashed at every step after the torn one, and while
    # it tears P itself after every other first crash (all pairs: -m slow)
    checked = 0
    for first in range(len(ops)):
        every = all_pairs or first == torn
        seconds = range(len(ops) + 1) if every else (torn,)
        for second in seconds:
            directory = f"{bucket}/t{first}-{second}"
            prefix = f"{directory}/cp.ckpt"
            checkpoint_io.persist(snaps[0], prefix, directory)
            assert in_child(lambda: checkpoint_io.persist(snaps[1], prefix, directory),
                            first) == CRASHED
            after_first = observe(model, directory, prefix, gens)
            assert all(g in (0, 1) for g in after_first), (first, after_first)
            in_child(lambda: checkpoint_io.persist(snaps[2], prefix, directory), second)
            after_second = observe(model, directory, prefix, gens)
            for now, then in zip(after_second, after_first):
                assert now in (then, 2), (first, second, after_first, after_second)
            checkpoint_io.persist(snaps[3], prefix, directory)
            assert observe(model, directory, prefix, gens) == (3, 3)
            assert storage.listdir(directory) == ["checkpoint", "cp.ckpt.data-00000-of-00001",
                                                  "cp.ckpt.index"]
            checked += 1
    assert checked >= 2 * len(ops)


def test_model_checkpoint_numbered_killed_mid_upload_on_s3(bucket, monkeypatch):
    """Numbered checkpoints (``cp-{epoch:04d}.ckpt``) with multipart data files: a writer killed
    at any step (a part upload in flight, the completion, the state file) leaves
    ``latest_checkpoint`` naming a checkpoint that loads."""
    from savepoint.saving.storage import remote
    monkeypatch.setattr(remote, "PART_BYTES", 5 << 20)  # S3's smallest part: several parts
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(1200, input_shape=(1200,)),
                              keras.layers.Dense(2)])  # 5.8 MB of float32 kernel: 2 parts
    model.compile("sgd", "mse")
    x = np.random.rand(4, 1200).astype("float32")
    y = np.random.rand(4, 2).astype("float32")
    directory = f"{bucket}/numbered"

    def fit(epochs):
        cb = keras.callbacks.ModelCheckpoint(f"{directory}/cp-{{epoch:04d}}.ckpt",
                                             save_weights_only=True)
        model.fit(x, y, epochs=epochs, callbacks=[cb], verbose=0)
    fit(1)
    ops = []
    storage.FAULT_HOOK = lambda op, path: ops.append(op)
    try:
        fit(1)
    finally:
        storage.FAULT_HOOK = None
    fresh = keras.Sequential([keras.layers.Dense(1200, input_shape=(1200,)),
                              keras.layers.Dense(2)])
    for k in range(len(ops)):
        in_child(lambda: fit(1), k)
        latest = keras.train.latest_checkpoint(directory)
        fresh.load_weights(latest).expect_partial()  # whole, checksums verified, or this raises
        keras.train.verify(latest)


def test_model_directory_killed_mid_upload_is_old_new_or_a_clear_error(bucket):
    keras.utils.set_random_seed(0)
    path = f"{bucket}/saved_model/my_model"
    old, new = make_model(), make_model()
    old.build((None, 6))
    new.build((None, 6))
    old.save(path)
    ops = []
    storage.FAULT_HOOK = lambda op, p: ops.append(op)
    try:
        new.save(path)
    finally:
        storage.FAULT_HOOK = None
    old.save(path)
    outcomes = set()
    for k in range(len(ops)):
        in_child(lambda: new.save(path), k)
        try:
            loaded = keras.models.load_model(path)
        except SavepointError as e:
            assert "saved_model.json" in str(e) or "fingerprint" in str(e), e
            outcomes.add("error")
        else:
            outcomes.add(which(loaded.get_weights(), [old.get_weights(), new.get_weights()]))
        old.save(path)  # the next save repairs whatever the crash left
        assert which(keras.models.load_model(path).get_weights(), [old.get_weights()]) == 0
    assert 0 in outcomes and "error" in outcomes
