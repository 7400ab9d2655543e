"""The tutorial flow (TF "Save and load models") on ``s3://`` against the loopback S3 server,
and on ``memory://``: the same results as on a local disk, bit for bit.

The flow: ``ModelCheckpoint`` of ``cp.ckpt`` every epoch and of ``cp-{epoch:04d}.ckpt`` every
2 epochs, ``latest_checkpoint``, ``load_weights``, ``save_weights``, ``model.save`` in every format
(TF checkpoint prefix, ``.h5``, ``.weights.h5``, ``.keras``, the model directory), ``load_model``,
``verify``, ``train.Checkpoint`` / ``CheckpointManager``, ``BackupAndRestore``. The same seeded run
goes to a local directory and to the URL; every variable must match bit for bit, and the
predictions of every reloaded model must be equal.
"""

import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.saving import storage


def create_model():
    model = keras.models.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(12,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(4)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.random((40, 12), dtype=np.float32), rng.integers(0, 4, 40)


def _flow(root: str) -> dict:
    """Run the tutorial under ``root`` (a local directory or a URL); what it produced."""
    x, y = _data()
    out: dict = {}
    keras.utils.set_random_seed(1)
    model = create_model()
    cp = keras.callbacks.ModelCheckpoint(f"{root}/training_1/cp.ckpt", save_weights_only=True)
    model.fit(x, y, epochs=2, batch_size=8, callbacks=[cp], verbose=0)
    out["listing_1"] = storage.listdir(f"{root}/training_1")
    restored = create_model()
    restored.load_weights(f"{root}/training_1/cp.ckpt")
    out["restored_1"] = restored.get_weights()

    keras.utils.set_random_seed(2)
    model = create_model()
    cp = keras.callbacks.ModelCheckpoint(f"{root}/training_2/cp-{{epoch:04d}}.ckpt",
                                         save_weights_only=True, save_freq=10)
    model.save_weights(f"{root}/training_2/cp-{0:04d}.ckpt")
    model.fit(x, y, epochs=4, batch_size=8, callbacks=[cp], verbose=0)
    latest = keras.train.latest_checkpoint(f"{root}/training_2")
    out["latest"] = latest[len(root):]
    restored = create_model()
    restored.load_weights(latest)
    out["restored_2"] = restored.get_weights()
    out["listing_2"] = storage.listdir(f"{root}/training_2")

    model.save_weights(f"{root}/checkpoints/my_checkpoint")
    restored = create_model()
    restored.load_weights(f"{root}/checkpoints/my_checkpoint")
    out["restored_3"] = restored.get_weights()
    out["trained"] = model.get_weights()
    out["predictions"] = model.predict(x, verbose=0)

    for name in ("my_model.h5", "my_model.keras", "saved_model/my_model"):
        model.save(f"{root}/{name}")
        loaded = keras.models.load_model(f"{root}/{name}")
        out[f"model:{name}"] = loaded.get_weights()
        out[f"predict:{name}"] = loaded.predict(x, verbose=0)
        out[f"verify:{name}"] = keras.train.verify(f"{root}/{name}").n_tensors
    model.save_weights(f"{root}/w.weights.h5")
    restored = create_model()
    restored.load_weights(f"{root}/w.weights.h5")
    out["weights.h5"] = restored.get_weights()
    out["verify:ckpt"] = keras.train.verify(f"{root}/checkpoints/my_checkpoint").n_tensors
    return out


@pytest.fixture(params=["s3", "memory"])
def remote_root(request, tmp_path):
    if request.param == "s3":
        return request.getfixturevalue("bucket")
    return f"memory://tutorial-{os.getpid()}-{tmp_path.name}"


def test_tutorial_flow_on_remote_matches_local(remote_root, tmp_path, in_tmp_cwd):
    local = _flow(str(tmp_path / "local"))
    remote = _flow(remote_root)
    assert sorted(local) == sorted(remote)
    compared = 0
    for key, value in local.items():
        if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            assert len(value) == len(remote[key]), key
            for a, b in zip(value, remote[key]):
                assert a.dtype == b.dtype and np.array_equal(a, b), key  # bit for bit
                compared += 1
        elif isinstance(value, np.ndarray):
            assert np.array_equal(value, remote[key]), key
            compared += 1
        else:
            assert value == remote[key], key
    assert compared > 20
    assert local["latest"] == "/training_2/cp-0004.ckpt"
    assert remote["listing_1"] == ["checkpoint", "cp.ckpt.data-00000-of-00001",
                                   "cp.ckpt.index"]
    assert not any(n.endswith(":") for n in os.listdir(in_tmp_cwd))  # no local 's3:' dir


def test_checkpoint_manager_lists_and_prunes_on_s3(bucket, in_tmp_cwd):
    model = create_model()
    model.build((None, 12))
    ckpt = keras.train.Checkpoint(model=model, optimizer=model.optimizer)
    manager = keras.train.CheckpointManager(ckpt, f"{bucket}/tf_ckpts", max_to_keep=2)
    for _ in range(4):
        manager.save()
    assert manager.checkpoints == [f"{bucket}/tf_ckpts/ckpt-3", f"{bucket}/tf_ckpts/ckpt-4"]
    assert keras.train.latest_checkpoint(f"{bucket}/tf_ckpts") == f"{bucket}/tf_ckpts/ckpt-4"
    names = storage.listdir(f"{bucket}/tf_ckpts")
    assert not any(n.startswith(("ckpt-1.", "ckpt-2.")) for n in names), names
    again = keras.train.CheckpointManager(ckpt, f"{bucket}/tf_ckpts", max_to_keep=2)
    assert again.latest_checkpoint == f"{bucket}/tf_ckpts/ckpt-4"
    status = ckpt.restore(again.latest_checkpoint)
    status.assert_existing_objects_matched()
    assert keras.train.list_variables(f"{bucket}/tf_ckpts")
    assert not os.listdir(in_tmp_cwd)


def test_backup_and_restore_on_s3_resumes(bucket, in_tmp_cwd):
    x, y = _data()

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    keras.utils.set_random_seed(3)
    model = create_model()
    backup = keras.callbacks.BackupAndRestore(f"{bucket}/backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=8, callbacks=[backup, Stop()], verbose=0)
    assert storage.exists(f"{bucket}/backup")
    model = create_model()
    history = model.fit(x, y, epochs=4, batch_size=8,
                        callbacks=[keras.callbacks.BackupAndRestore(f"{bucket}/backup")],
                        verbose=0)
    assert len(history.history["loss"]) == 2  # resumed after epoch 2
    assert not storage.exists(f"{bucket}/backup")  # deleted at the end of training
    assert not os.listdir(in_tmp_cwd)
