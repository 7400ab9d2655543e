"""``savepoint.train.CheckpointManager``: pruning, preservation by age, step intervals, recovery
from an existing directory and restore_or_initialize. Expected sequences were produced by
TensorFlow 2.21's ``tf.train.CheckpointManager`` with the same inputs."""

import os

import numpy as np
import pytest
import torch

from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable
from savepoint.saving.api import checkpoint_manager
from savepoint.saving.formats.tf_checkpoint.state_file import read_state
from savepoint.train import Checkpoint, CheckpointManager, latest_checkpoint


def indexes(directory):
    return sorted(f for f in os.listdir(directory) if f.endswith(".index"))


def files(directory):
    return sorted(os.listdir(directory))


class FakeClock:
    """Stands in for the ``time`` module inside checkpoint_manager."""

    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(checkpoint_manager, "time", fake)
    return fake


def value_checkpoint(value=1.0):
    return Checkpoint(v=torch.tensor([value, 2.0]))


def test_max_to_keep_deletes_old_files(tmp_path, clock):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=2)
    paths = []
    for t in (1.0, 2.0, 3.0):
        clock.now = t
        paths.append(manager.save())
    assert paths == [os.path.join(tmp_path, f"ckpt-{i}") for i in (1, 2, 3)]
    assert files(tmp_path) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
                               "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    assert manager.checkpoints == paths[1:]
    assert manager.latest_checkpoint == paths[2] == latest_checkpoint(str(tmp_path))
    with open(os.path.join(tmp_path, "checkpoint")) as f:
        assert f.read() == ('model_checkpoint_path: "ckpt-3"\n'
                            'all_model_checkpoint_paths: "ckpt-2"\n'
                            'all_model_checkpoint_paths: "ckpt-3"\n'
                            'all_model_checkpoint_timestamps: 2.0\n'
                            'all_model_checkpoint_timestamps: 3.0\n')
    # last_preserved_timestamp is 0.0 (the clock at creation), proto3's default: not written


def test_max_to_keep_none_keeps_everything(tmp_path):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=None)
    for _ in range(4):
        manager.save()
    assert indexes(tmp_path) == [f"ckpt-{i}.index" for i in range(1, 5)]
    assert len(read_state(str(tmp_path)).all_model_checkpoint_paths) == 4


def test_keep_checkpoint_every_n_hours_preserves_as_tensorflow(tmp_path, clock):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=1,
                                keep_checkpoint_every_n_hours=1)
    seen = []
    for hours in (0.5, 1.2, 2.5, 2.6, 3.0, 4.0):
        clock.now = hours * 3600
        manager.save()
        seen.append(indexes(tmp_path))
    assert seen == [["ckpt-1.index"], ["ckpt-2.index"], ["ckpt-2.index", "ckpt-3.index"],
                    ["ckpt-2.index", "ckpt-3.index", "ckpt-4.index"],
                    ["ckpt-2.index", "ckpt-3.index", "ckpt-5.index"],
                    ["ckpt-2.index", "ckpt-3.index", "ckpt-6.index"]]
    assert manager.checkpoints == [os.path.join(tmp_path, "ckpt-6")]
    state = read_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == ["ckpt-6"]
    assert state.all_model_checkpoint_timestamps == [14400.0]
    assert state.last_preserved_timestamp == 9000.0


def test_a_new_manager_recovers_state_and_keeps_pruning(tmp_path, clock):
    ckpt = value_checkpoint()
    first = CheckpointManager(ckpt, str(tmp_path), max_to_keep=1, keep_checkpoint_every_n_hours=1)
    for hours in (0.5, 1.2, 2.5, 2.6, 3.0, 4.0):
        clock.now = hours * 3600
        first.save()
    clock.now = 5.0 * 3600  # the new manager's own start time must not reset the bookkeeping
    second = CheckpointManager(ckpt, str(tmp_path), max_to_keep=1,
                               keep_checkpoint_every_n_hours=1)
    assert second.checkpoints == [os.path.join(tmp_path, "ckpt-6")]
    assert second.latest_checkpoint == os.path.join(tmp_path, "ckpt-6")
    clock.now = 5.5 * 3600
    assert second.save() == os.path.join(tmp_path, "ckpt-7")
    # ckpt-6 is 1.5 h after the last preserved one (2.5 h): preserved, as TensorFlow does
    assert indexes(tmp_path) == ["ckpt-2.index", "ckpt-3.index", "ckpt-6.index", "ckpt-7.index"]


def test_recovery_drops_checkpoints_whose_files_are_gone(tmp_path):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=3)
    for _ in range(3):
        manager.save()
    checkpoint_manager.delete_checkpoint_files(os.path.join(tmp_path, "ckpt-2"))
    again = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=3)
    assert again.checkpoints == [os.path.join(tmp_path, "ckpt-1"),
                                 os.path.join(tmp_path, "ckpt-3")]


def test_checkpoint_interval_with_step_counter(tmp_path):
    step = torch.tensor(0, dtype=torch.int64)
    ckpt = Checkpoint(step=step)
    manager = CheckpointManager(ckpt, str(tmp_path), max_to_keep=None,
                                step_counter=Variable(step, name="step", path="step"),
                                checkpoint_interval=5)
    results = []
    for s in (0, 3, 5, 7, 10, 12):
        step.fill_(s)
        results.append(manager.save())
    expected = [os.path.join(tmp_path, "ckpt-1"), None, os.path.join(tmp_path, "ckpt-2"), None,
                os.path.join(tmp_path, "ckpt-3"), None]
    assert results == expected
    assert manager.save(check_interval=False) == os.path.join(tmp_path, "ckpt-4")


def test_checkpoint_interval_needs_a_step_counter(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint_interval needs a step_counter"):
        CheckpointManager(value_checkpoint(), str(tmp_path), checkpoint_interval=5)


@pytest.mark.parametrize("bad", [0, -1])
def test_max_to_keep_must_be_positive(tmp_path, bad):
    with pytest.raises(ConfigError, match=rf"positive int or None\. Received {bad}"):
        CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=bad)


def test_checkpoint_number_and_name(tmp_path):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), checkpoint_name="model")
    assert manager.save(checkpoint_number=100) == os.path.join(tmp_path, "model-100")
    assert manager.directory == str(tmp_path)
    assert latest_checkpoint(str(tmp_path)) == os.path.join(tmp_path, "model-100")


def test_restore_or_initialize(tmp_path):
    calls = []
    tensor = torch.tensor([1.0, 2.0])
    manager = CheckpointManager(Checkpoint(v=tensor), str(tmp_path),
                                init_fn=lambda: calls.append("init"))
    assert manager.restore_or_initialize() is None
    assert calls == ["init"]
    saved = manager.save()
    tensor.fill_(0.0)
    again = CheckpointManager(Checkpoint(v=tensor), str(tmp_path),
                              init_fn=lambda: calls.append("init"))
    assert again.restore_or_initialize() == saved
    assert calls == ["init"]
    assert np.array_equal(tensor.numpy(), np.array([1.0, 2.0], "float32"))


def test_manager_restore_continues_numbering_from_save_counter(tmp_path):
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=2)
    for _ in range(3):
        manager.save()
    fresh = value_checkpoint()
    again = CheckpointManager(fresh, str(tmp_path), max_to_keep=2)
    again.restore_or_initialize()
    assert int(fresh.save_counter.numpy()) == 3
    assert again.save() == os.path.join(tmp_path, "ckpt-4")
    assert indexes(tmp_path) == ["ckpt-3.index", "ckpt-4.index"]


def test_a_new_process_never_overwrites_a_listed_checkpoint(tmp_path):
    # Beyond TensorFlow (which would write ckpt-1 again): a manager that did not restore
    # continues numbering after the newest checkpoint the state file lists.
    d = str(tmp_path)
    first = CheckpointManager(Checkpoint(v=Variable(torch.ones(2), name="v", path="v")), d,
                              max_to_keep=3)
    first.save(), first.save()
    before = open(os.path.join(d, "ckpt-2.data-00000-of-00001"), "rb").read()
    fresh = CheckpointManager(Checkpoint(v=Variable(torch.zeros(2), name="v", path="v")), d,
                              max_to_keep=3)
    assert fresh.save() == os.path.join(d, "ckpt-3")
    assert open(os.path.join(d, "ckpt-2.data-00000-of-00001"), "rb").read() == before
    assert latest_checkpoint(d) == os.path.join(d, "ckpt-3")


def test_a_failed_state_file_write_removes_the_unrecorded_checkpoint(tmp_path, monkeypatch):
    d = str(tmp_path)
    manager = CheckpointManager(Checkpoint(v=Variable(torch.ones(2), name="v", path="v")), d)
    manager.save()
    state_before = open(os.path.join(d, "checkpoint")).read()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_manager.state_file, "write_state", full_disk)
    with pytest.raises(OSError, match="No space left"):
        manager.save()
    assert indexes(d) == ["ckpt-1.index"]
    assert open(os.path.join(d, "checkpoint")).read() == state_before
    assert manager.checkpoints == [os.path.join(d, "ckpt-1")]
