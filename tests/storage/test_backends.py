"""The storage protocol and its URL dispatch: every backend passes the same checks, and a
``scheme://`` path is never written as a local directory.

- ``memory://`` and ``s3://`` (the loopback server) run one conformance test of the storage
  functions the formats use: atomic writers (single PUT and multipart), ranged reads, listing,
  removal, server-side ``link_replace``, directories committed by manifest.
- ``file://`` URLs are local paths.
- Every entry point given a URL whose filesystem is not installed (``gs://`` without gcsfs) or
  whose scheme is unknown raises a ``SavepointError`` naming the fix, and writes nothing to the
  working directory (the regression: ``ModelCheckpoint("s3://bucket/...")`` wrote a local ``s3:``
  directory).
"""

import importlib.util
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import (CheckpointNotFoundError, ConfigError, MissingDependencyError,
                              SavepointError)
from savepoint.saving import storage
from savepoint.saving.storage import backend, remote


@pytest.fixture(params=["memory", "s3"])
def root(request, tmp_path):
    if request.param == "s3":
        return request.getfixturevalue("bucket")
    return f"memory://conformance-{os.getpid()}-{tmp_path.name}"


def test_every_storage_function_on_a_remote_backend(root, monkeypatch):
    monkeypatch.setattr(remote, "PART_BYTES", 5 << 20)  # S3's smallest part size
    storage.makedirs(f"{root}/d")
    storage.write_bytes_atomically(f"{root}/d/a.bin", b"hello")
    assert storage.read_bytes(f"{root}/d/a.bin") == b"hello"
    assert storage.read_range(f"{root}/d/a.bin", 1, 3) == b"ell"
    assert storage.read_range(storage.open_read(f"{root}/d/a.bin"), 3, 10) == b"lo"
    assert storage.file_size(f"{root}/d/a.bin") == 5
    assert bytes(storage.map_file(f"{root}/d/a.bin")) == b"hello"
    big = np.random.default_rng(0).bytes((11 << 20) + 3)  # 3 parts; 3 ranged GETs
    with storage.atomic_writer(f"{root}/d/big.bin") as f:
        for start in range(0, len(big), 3 << 20):
            f.write(big[start:start + (3 << 20)])
        assert not storage.exists(f"{root}/d/big.bin")  # invisible until committed
    assert storage.read_bytes(f"{root}/d/big.bin") == big
    assert bytes(storage.map_file(f"{root}/d/big.bin")) == big
    with pytest.raises(RuntimeError, match="boom"):
        with storage.atomic_writer(f"{root}/d/aborted.bin") as f:
            f.write(big)
            raise RuntimeError("boom")
    assert not storage.exists(f"{root}/d/aborted.bin")
    with storage.atomic_path(f"{root}/d/lib.bin") as local:
        assert not storage.is_remote(local)
        with open(local, "wb") as out:
            out.write(b"from a library")
    assert storage.read_text(f"{root}/d/lib.bin") == "from a library"
    storage.replace_text_atomically(f"{root}/d/checkpoint", "x\n")
    before = storage.identity(f"{root}/d/a.bin")
    storage.link_replace(f"{root}/d/lib.bin", f"{root}/d/a.bin")
    assert storage.read_bytes(f"{root}/d/a.bin") == b"from a library"
    assert storage.identity(f"{root}/d/a.bin") != before
    assert storage.listdir(f"{root}/d") == ["a.bin", "big.bin", "checkpoint", "lib.bin"]
    assert storage.isdir(f"{root}/d") and not storage.isdir(f"{root}/d/a.bin")
    storage.remove(f"{root}/d/big.bin")
    storage.remove(f"{root}/d/big.bin")  # missing is fine
    with pytest.raises(CheckpointNotFoundError, match=r"Expected a file at .*big\.bin.* does not"):
        storage.remove(f"{root}/d/big.bin", missing_ok=False)
    with pytest.raises(CheckpointNotFoundError, match=r"Expected a file at .*nothing"):
        storage.read_bytes(f"{root}/d/nothing")
    assert storage.mtime_ns(f"{root}/d/nothing") is None
    assert storage.remove_stale_temp_files(f"{root}/d") == []
    temp = storage.temp_dir_for(f"{root}/m")
    storage.makedirs(os.path.join(temp, "sub"))
    storage.write_bytes_atomically(os.path.join(temp, "sub", "w"), b"1")
    storage.write_bytes_atomically(os.path.join(temp, "manifest.json"), b"{}")
    storage.commit_directory(temp, f"{root}/m")
    assert storage.list_tree(f"{root}/m") == ["manifest.json", "sub/w"]
    assert not os.path.exists(temp)  # the local staging directory is gone
    storage.remove_tree(f"{root}/m")
    assert not storage.exists(f"{root}/m")


def test_file_urls_are_local_paths(tmp_path):
    url = f"file://{tmp_path}/x.bin"
    storage.write_bytes_atomically(url, b"abc")
    assert (tmp_path / "x.bin").read_bytes() == b"abc"
    assert storage.read_bytes(url) == b"abc" and storage.exists(url)
    assert not storage.is_remote(url) and storage.is_remote("memory://x")


def _model():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    return model


ENTRY_POINTS = {
    "ModelCheckpoint": lambda m, u: m.fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0,
                                          callbacks=[keras.callbacks.ModelCheckpoint(
                                              u + "/training_1/cp.ckpt",
                                              save_weights_only=True)]),
    "save_weights": lambda m, u: m.save_weights(u + "/cp.ckpt"),
    "save_weights_h5": lambda m, u: m.save_weights(u + "/w.weights.h5"),
    "load_weights": lambda m, u: m.load_weights(u + "/cp.ckpt"),
    "Checkpoint.save": lambda m, u: keras.train.Checkpoint(model=m).save(u + "/ckpt"),
    "CheckpointManager": lambda m, u: keras.train.CheckpointManager(
        keras.train.Checkpoint(model=m), u + "/tf_ckpts", max_to_keep=2).save(),
    "latest_checkpoint": lambda m, u: keras.train.latest_checkpoint(u + "/training_1"),
    "save_h5": lambda m, u: m.save(u + "/m.h5"),
    "save_keras": lambda m, u: m.save(u + "/m.keras"),
    "save_dir": lambda m, u: m.save(u + "/saved_model/m"),
    "load_model": lambda m, u: keras.models.load_model(u + "/m.keras"),
    "BackupAndRestore": lambda m, u: m.fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0,
                                           callbacks=[keras.callbacks.BackupAndRestore(
                                               u + "/backup")]),
    "verify": lambda m, u: keras.train.verify(u + "/cp.ckpt"),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_unknown_scheme_raises_and_writes_nothing_locally(entry, in_tmp_cwd):
    with pytest.raises(ConfigError, match=r"Expected a local path or a URL with a storage "
                                          r"scheme fsspec knows .* Received 'nosuchfs://b.*"
                                          r"scheme 'nosuchfs' is unknown\. Fix: "):
        ENTRY_POINTS[entry](_model(), "nosuchfs://b")
    assert os.listdir(in_tmp_cwd) == []


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed")
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_missing_filesystem_names_the_extra_and_writes_nothing_locally(entry, in_tmp_cwd):
    with pytest.raises(MissingDependencyError, match=r"Expected the fsspec filesystem for gs:// "
                                                     r".*Fix: pip install \"savepoint\[remote\]"
                                                     r"\" gcsfs"):
        ENTRY_POINTS[entry](_model(), "gs://bucket")
    assert os.listdir(in_tmp_cwd) == []


def test_missing_fsspec_names_the_extra(monkeypatch, in_tmp_cwd):
    import builtins
    real_import = builtins.__import__

    def no_fsspec(name, *args, **kwargs):
        if name == "fsspec" or name.startswith("fsspec."):
            raise ImportError("No module named 'fsspec'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_fsspec)
    monkeypatch.setattr(backend, "_BACKENDS", {})
    with pytest.raises(MissingDependencyError, match=r"Expected fsspec to be installed to use "
                                                     r"the URL 's3://b.*Fix: pip "
                                                     r"install \"savepoint\[remote\]\""):
        _model().save_weights("s3://b/cp.ckpt")
    assert os.listdir(in_tmp_cwd) == []


def test_s3_errors_are_storage_errors(bucket, in_tmp_cwd):
    missing_bucket = "s3://sp-no-such-bucket-here/cp.ckpt"
    with pytest.raises(SavepointError, match=r"Could not write 's3://sp-no-such-bucket-here/"):
        _model().save_weights(missing_bucket)
    with pytest.raises(CheckpointNotFoundError):
        _model().load_weights(f"{bucket}/nothing/cp.ckpt")
    assert os.listdir(in_tmp_cwd) == []


def test_backend_protocol_is_satisfied():
    assert isinstance(backend.backend_for("memory://x"), backend.Backend)
    assert backend.backend_for("memory://x").commit_strategy == "put"


def test_a_remote_state_file_naming_another_bucket_is_refused(root):
    """Path containment on URLs: ``os.path.abspath`` would fold ``s3://other/x`` into the
    directory; the state file must name checkpoints under its own key prefix only (pruning
    deletes what it names)."""
    directory = f"{root}/ckpts"
    _model().save_weights(f"{directory}/cp.ckpt")
    for hostile in ("s3://someone-else/ckpts/cp.ckpt", "../elsewhere/cp.ckpt",
                    f"{root}/ckpts-other/cp.ckpt"):
        storage.replace_text_atomically(f"{directory}/checkpoint",
                                        f'model_checkpoint_path: "{hostile}"\n')
        with pytest.raises(SavepointError, match=r"names checkpoint .* which lies outside its "
                                                 r"directory\. Expected a checkpoint inside"):
            keras.train.latest_checkpoint(directory)
    storage.replace_text_atomically(f"{directory}/checkpoint",
                                    f'model_checkpoint_path: "{directory}/cp.ckpt"\n')
    assert keras.train.latest_checkpoint(directory) == f"{directory}/cp.ckpt"  # a full URL


def test_async_saves_to_s3(bucket):
    model = _model()
    cb = keras.callbacks.ModelCheckpoint(f"{bucket}/async/cp.ckpt", save_weights_only=True,
                                         save_async=True)
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=3, verbose=0, callbacks=[cb])
    restored = _model()
    restored.load_weights(keras.train.latest_checkpoint(f"{bucket}/async")).expect_partial()
    for a, b in zip(model.get_weights(), restored.get_weights()):
        assert np.array_equal(a, b)
    assert storage.listdir(f"{bucket}/async") == ["checkpoint", "cp.ckpt.data-00000-of-00001",
                                                  "cp.ckpt.index"]


def test_a_manager_recovers_a_remote_state_file_with_full_urls(root):
    """TensorFlow writes full ``gs://...`` names into state files on object stores; a manager
    reopening such a directory treats them as absolute (not joined onto the directory)."""
    model = _model()
    model.build((None, 3))
    ckpt = keras.train.Checkpoint(model=model)
    manager = keras.train.CheckpointManager(ckpt, f"{root}/tf", max_to_keep=2)
    manager.save()
    manager.save()
    full = [f"{root}/tf/ckpt-1", f"{root}/tf/ckpt-2"]
    storage.replace_text_atomically(f"{root}/tf/checkpoint", "".join(
        [f'model_checkpoint_path: "{full[1]}"\n'] +
        [f'all_model_checkpoint_paths: "{p}"\n' for p in full]))
    again = keras.train.CheckpointManager(ckpt, f"{root}/tf", max_to_keep=2)
    assert again.checkpoints == full
    assert again.latest_checkpoint == full[1]
    again.save()
    assert again.checkpoints == [full[1], f"{root}/tf/ckpt-3"]
    assert not storage.exists(f"{root}/tf/ckpt-1.index")  # pruned on the remote
