"""BackupAndRestore: a crashed fit rerun from scratch resumes exactly (bitwise on CPU).

A crash is simulated in-process by an exception from a callback (``on_train_end`` never runs,
so the backup stays, as after a kill); the rerun re-seeds and rebuilds everything as a rerun
script would. tests/saving/test_crash_consistency.py covers real SIGKILLs in a child process.
"""

import os
import random
import signal

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.callbacks import BackupAndRestore, ModelCheckpoint
from savepoint.errors import ConfigError, FormatError
from savepoint.utils import rng

N, BATCH = 40, 8  # 5 batches per epoch


class Crash(Exception):
    pass


class CrashAt(keras.callbacks.Callback):
    """Raises ``Crash`` at the end of the ``at``-th training batch of this fit (1-based)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise Crash()


def _data():
    x = np.random.rand(N, 5).astype("float32")
    y = np.random.randint(0, 3, N)
    return x, y


def _loader(x, y):
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True)


def _generator(x, y):
    """Reshuffles with numpy's global generator every pass (what a data pipeline might do)."""
    while True:
        order = np.random.permutation(N)
        for i in range(0, N, BATCH):
            idx = order[i:i + BATCH]
            yield x[idx], y[idx]


def train(backup_dir, crash_at=None, source="arrays", save_freq=3, epochs=3, callbacks=(),
          initial_epoch=0, **backup_kwargs):
    """One 'run of the script': seed, build, fit with a backup; returns (model, history) or
    None when it crashed."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(11)
    random.random()  # draws from Python's generator too, so its state matters
    x, y = _data()
    model = keras.Sequential([L.Dense(8, activation="relu", input_shape=(5,)), L.Dropout(0.4),
                              L.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    cbs = [BackupAndRestore(backup_dir, save_freq=save_freq, **backup_kwargs), *callbacks]
    if crash_at is not None:
        cbs.append(CrashAt(crash_at))
    fit_kwargs = dict(epochs=epochs, callbacks=cbs, verbose=0, initial_epoch=initial_epoch,
                      validation_data=(x[:10], y[:10]))
    if source == "arrays":
        args = (x, y)
        fit_kwargs.update(batch_size=BATCH, shuffle=True)
    elif source == "loader":
        args = (_loader(x, y),)
    else:
        args = (_generator(x, y),)
        fit_kwargs.update(steps_per_epoch=N // BATCH)
    try:
        history = model.fit(*args, **fit_kwargs)
    except Crash:
        return None
    return model, history


def assert_same_run(reference, resumed):
    (ref_model, ref_history), (model, history) = reference, resumed
    for a, b in zip(ref_model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ref_model.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    done = len(history.history["loss"])
    for key, values in history.history.items():
        assert values == ref_history.history[key][-done:], key


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The uninterrupted runs, per data source."""
    root = tmp_path_factory.mktemp("ref")
    return {source: train(str(root / source), source=source)
            for source in ("arrays", "loader", "generator")}


@pytest.mark.parametrize("crash_at", [1, 3, 4, 5, 6, 9, 14])
def test_arrays_resume_bitwise_after_crash_at_any_batch(tmp_path, references, crash_at):
    """Crashes before the first backup (1), right after one (3, 6, 9), mid-epoch (4, 14) and
    at an epoch's last batch (5): the rerun's weights, optimizer and logs equal the
    uninterrupted run's."""
    backup = str(tmp_path / "backup")
    assert train(backup, crash_at=crash_at) is None
    assert os.path.isdir(os.path.join(backup, "chief")) == (crash_at >= 3)
    assert_same_run(references["arrays"], train(backup))


@pytest.mark.parametrize("source", ["loader", "generator"])
@pytest.mark.parametrize("crash_at", [4, 7, 12])
def test_loader_and_generator_resume_bitwise(tmp_path, references, source, crash_at):
    """A shuffling DataLoader and a generator drawing from numpy's global RNG resume exactly,
    mid-epoch and at epoch boundaries (save_freq=5 is once per epoch)."""
    backup = str(tmp_path / "backup")
    for save_freq in (3, 5):
        path = f"{backup}{save_freq}"
        reference = train(f"{path}-ref", source=source, save_freq=save_freq)
        assert train(path, crash_at=crash_at, source=source, save_freq=save_freq) is None
        assert_same_run(reference, train(path, source=source, save_freq=save_freq))
    assert_same_run(references[source], reference)


def test_epoch_save_freq_resumes_at_the_epoch_start(tmp_path, references):
    backup = str(tmp_path / "backup")
    assert train(backup, crash_at=8, save_freq="epoch") is None  # mid-epoch 2
    model, history = train(backup, save_freq="epoch")
    assert len(history.history["loss"]) == 2  # epochs 2 and 3 ran again
    assert_same_run(references["arrays"], (model, history))


def test_repeated_crashes_still_give_the_same_weights(tmp_path, references):
    backup = str(tmp_path / "backup")
    for crash_at in (2, 4, 3, 5):  # each rerun crashes again, later in the run
        assert train(backup, crash_at=crash_at) is None
    assert_same_run(references["arrays"], train(backup))


def test_backup_is_deleted_after_success_unless_asked_to_keep(tmp_path):
    kept, deleted = str(tmp_path / "kept"), str(tmp_path / "deleted")
    train(deleted)
    assert not os.path.exists(deleted)
    train(kept, delete_checkpoint=False)
    assert sorted(os.listdir(os.path.join(kept, "chief"))) == [
        "checkpoint", "ckpt-5.data-00000-of-00001", "ckpt-5.index"]  # 15 batches / 3
    reader = keras.train.load_checkpoint(os.path.join(kept, "chief"))
    # the last backup came after the last batch (epoch 3, 5 batches done), before its end
    assert int(reader.get_tensor("training_state/epoch/.ATTRIBUTES/VARIABLE_VALUE")) == 2
    assert int(reader.get_tensor("training_state/step/.ATTRIBUTES/VARIABLE_VALUE")) == 5
    assert reader.get_variable_to_dtype_map()[
        "training_state/rng/torch/cpu/.ATTRIBUTES/VARIABLE_VALUE"] == "uint8"
    _, history = train(kept, delete_checkpoint=False)  # only the epoch's end runs again
    assert history.epoch == [2]
    train(kept, save_freq="epoch", delete_checkpoint=False)  # a backup after the epoch's end
    _, history = train(kept, save_freq="epoch")
    assert history.history == {} and not os.path.exists(kept)


def test_backup_overrides_initial_epoch_and_initial_epoch_applies_without_one(tmp_path):
    backup = str(tmp_path / "backup")
    _, history = train(backup, initial_epoch=2)
    assert len(history.history["loss"]) == 1
    assert train(backup, crash_at=7) is None  # backup at epoch 1, step 1
    _, history = train(backup, initial_epoch=2)
    assert history.epoch == [1, 2]


def test_model_checkpoint_numbering_continues_after_resume(tmp_path):
    def run(directory, crash_at=None):
        checkpoint = ModelCheckpoint(str(directory / "cp-{epoch:02d}.ckpt"),
                                     save_weights_only=True)
        return train(str(directory / "backup"), crash_at=crash_at, callbacks=[checkpoint])
    run(tmp_path / "ref")
    assert run(tmp_path / "resumed", crash_at=12) is None  # in epoch 3
    assert sorted(os.listdir(tmp_path / "resumed"))[:2] == ["backup", "checkpoint"]
    run(tmp_path / "resumed")
    assert sorted(os.listdir(tmp_path / "ref")) == sorted(os.listdir(tmp_path / "resumed"))
    assert keras.train.latest_checkpoint(str(tmp_path / "resumed")).endswith("cp-03.ckpt")
    ref = keras.train.load_checkpoint(str(tmp_path / "ref"))
    got = keras.train.load_checkpoint(str(tmp_path / "resumed"))
    key = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    np.testing.assert_array_equal(ref.get_tensor(key), got.get_tensor(key))


def test_save_before_preemption_backs_up_on_sigterm_and_exits(tmp_path, references):
    class Preempt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2 and self.params.get("epochs") == 3:
                os.kill(os.getpid(), signal.SIGTERM)
    backup = str(tmp_path / "backup")
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info:
        train(backup, save_freq="epoch", save_before_preemption=True, callbacks=[Preempt()])
    assert info.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is previous
    assert os.path.isdir(os.path.join(backup, "chief"))
    assert_same_run(references["arrays"], train(backup, save_freq="epoch"))


@pytest.mark.parametrize("save_freq", [0, -2, "batch", 1.5, True])
def test_bad_save_freq(tmp_path, save_freq):
    with pytest.raises(ConfigError, match=r"Unrecognized save_freq: .*Expected 'epoch' or a "
                                          r"positive integer number of batches"):
        BackupAndRestore(str(tmp_path), save_freq=save_freq)


def test_empty_backup_dir():
    with pytest.raises(ConfigError, match="Empty `backup_dir` argument passed"):
        BackupAndRestore("")


def test_a_foreign_checkpoint_in_backup_dir_is_refused(tmp_path):
    model = keras.Sequential([L.Dense(2, input_shape=(3,))])
    keras.train.CheckpointManager(keras.train.Checkpoint(model=model),
                                  str(tmp_path / "chief")).save()
    model.compile("sgd", "mse")
    with pytest.raises(FormatError, match="Expected a BackupAndRestore checkpoint with "
                                          "training_state/epoch"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0,
                  callbacks=[BackupAndRestore(str(tmp_path))])


def test_config_round_trip(tmp_path):
    cb = BackupAndRestore(str(tmp_path), save_freq=7, delete_checkpoint=False,
                          save_before_preemption=True)
    again = BackupAndRestore.from_config(cb.get_config())
    assert again.get_config() == cb.get_config() == {
        "backup_dir": str(tmp_path), "save_freq": 7, "delete_checkpoint": False,
        "save_before_preemption": True}
    restored = keras.saving.deserialize(keras.saving.serialize(cb), "callbacks")
    assert isinstance(restored, BackupAndRestore) and restored.get_config() == cb.get_config()


# ----- savepoint.utils.rng --------------------------------------------------------------------
def _draws():
    return (random.random(), random.gauss(0, 1), np.random.rand(), np.random.standard_normal(),
            float(torch.rand(())))


def test_rng_capture_restore_repeats_every_generator():
    random.gauss(0, 1)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's state
    states = rng.capture()
    first = _draws()
    restore_copy = {k: v.copy() for k, v in states.items()}
    rng.restore(restore_copy)
    assert _draws() == first
    assert states["python/state"].dtype == np.uint32 and states["python/state"].shape == (625,)
    assert states["numpy/keys"].shape == (624,) and states["torch/cpu"].dtype == np.uint8


def test_rng_restore_refuses_missing_or_malformed_states():
    states = rng.capture()
    before = _draws()
    with pytest.raises(FormatError, match=r"Received states without \['torch/cpu'\]"):
        rng.restore({k: v for k, v in states.items() if k != "torch/cpu"})
    bad = dict(states, **{"numpy/keys": states["numpy/keys"].astype(np.int64)})
    with pytest.raises(FormatError, match=r"'numpy/keys': expected uint32 \(624,\), received "
                                          r"int64 \(624,\)"):
        rng.restore(bad)
    rng.restore(states)
    assert _draws() == before
