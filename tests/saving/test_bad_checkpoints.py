"""Bad checkpoints: every failure raises a clear SavepointError and changes nothing.

In every case the model's variables and its optimizer's state are compared bit for bit with a
snapshot taken before the failed load (validate everything, then assign). Failed saves leave
the previous checkpoint files and state file byte-identical, with no temporary files.
"""

import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import (CheckpointNotFoundError, ConfigError, DTypeError, FormatError,
                              SavepointError, ShapeError)
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint.reader import BundleReader

X = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
Y = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")


def mlp(hidden=4, names=("hidden", "out"), dtype=None):
    kwargs = {} if dtype is None else {"dtype": dtype}
    model = keras.Sequential([keras.layers.Dense(hidden, input_shape=(6,), name=names[0], **kwargs),
                              keras.layers.Dense(2, name=names[1], **kwargs)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def trained(**kwargs):
    model = mlp(**kwargs)
    model.fit(X, Y, batch_size=4, verbose=0)
    return model


def state_of(model):
    """Every model variable and every optimizer variable, copied."""
    weights = [w.copy() for w in model.get_weights()]
    opt = [v.numpy().copy() for v in model.optimizer.variables] if model.optimizer.built else []
    return weights, opt, float(model.optimizer.learning_rate)


def assert_unchanged(model, before):
    weights, opt, lr = state_of(model)
    assert len(weights) == len(before[0]) and len(opt) == len(before[1])
    for a, b in zip(weights + opt, before[0] + before[1]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert lr == before[2]


@pytest.fixture
def target():
    """A trained model (weights and Adam state) that failed loads must leave untouched."""
    model = trained()
    model.optimizer.learning_rate = 0.005
    return model, state_of(model)


@pytest.fixture
def saved(tmp_path):
    """A different trained model's checkpoint."""
    model = trained()
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0)
    prefix = os.path.join(tmp_path, "cp.ckpt")
    model.save_weights(prefix)
    return prefix


def data_file(prefix):
    return prefix + ".data-00000-of-00001"


def patch_bytes(path, offset, new):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(new)


def entry(prefix, key):
    with BundleReader(prefix) as r:
        return r.entry(key)


KERNEL = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
ADAM_M = "optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE"


# ----------------------------------------------------------------------------- missing files
def test_missing_prefix(tmp_path, target):
    model, before = target
    with pytest.raises(CheckpointNotFoundError, match=r"Expected a checkpoint at .*nothing.*"
                                                      r"Received a path that names no checkpoint"):
        model.load_weights(os.path.join(tmp_path, "nothing"))
    assert_unchanged(model, before)


def test_prefix_that_is_a_data_file_name(saved, target):
    model, before = target
    with pytest.raises(CheckpointNotFoundError, match="names no checkpoint"):
        model.load_weights(data_file(saved))
    assert_unchanged(model, before)


def test_empty_directory(tmp_path, target):
    model, before = target
    with pytest.raises(CheckpointNotFoundError, match="latest_checkpoint"):
        model.load_weights(str(tmp_path))
    assert_unchanged(model, before)


def test_missing_data_file(saved, target):
    model, before = target
    os.remove(data_file(saved))
    with pytest.raises(FormatError, match=r"its data file .*cp\.ckpt\.data-00000-of-00001' is "
                                          r"missing\. Fix: re-save the checkpoint"):
        model.load_weights(saved)
    assert_unchanged(model, before)


# ----------------------------------------------------------------------------- damaged files
def test_bit_flip_in_data_names_the_tensor(saved, target):
    model, before = target
    e = entry(saved, KERNEL)
    with open(data_file(saved), "rb") as f:
        f.seek(e.offset + 5)
        byte = f.read(1)[0]
    patch_bytes(data_file(saved), e.offset + 5, bytes([byte ^ 0x10]))
    with pytest.raises(FormatError, match=r'Checksum mismatch for tensor "layer_with_weights-0/kernel/\.ATTRIBUTES/'
                       r"VARIABLE_VALUE\" of checkpoint .*The data file .*cp\.ckpt\.data-00000-of-00001' "
                       r"is damaged"):
        model.load_weights(saved)
    assert_unchanged(model, before)


def test_bit_flip_in_optimizer_slot_names_the_tensor(saved, target):
    model, before = target
    e = entry(saved, ADAM_M)
    patch_bytes(data_file(saved), e.offset, b"\xff\xff")
    with pytest.raises(FormatError, match=r'Checksum mismatch for tensor "optimizer/_variables/1/'):
        model.load_weights(saved)
    assert_unchanged(model, before)


def test_bit_flip_in_a_deferred_slot_fails_before_assigning(saved):
    """An unbuilt optimizer defers its slots, but they are still read and checked first."""
    fresh = mlp()
    before = state_of(fresh)
    e = entry(saved, ADAM_M)
    patch_bytes(data_file(saved), e.offset, b"\x00\x01\x02")
    with pytest.raises(FormatError, match=r'Checksum mismatch for tensor "optimizer/_variables/1/'):
        fresh.load_weights(saved)
    assert_unchanged(fresh, before)
    assert not fresh.optimizer._pending


def test_truncated_data_file(saved, target):
    model, before = target
    size = os.path.getsize(data_file(saved))
    os.truncate(data_file(saved), size - 7)
    with pytest.raises(FormatError, match=r"The data file is truncated or the index is damaged"):
        model.load_weights(saved)
    assert_unchanged(model, before)


def test_truncated_index_file(saved, target):
    model, before = target
    index = saved + ".index"
    os.truncate(index, os.path.getsize(index) - 10)
    with pytest.raises(FormatError, match=r"cp\.ckpt\.index"):
        model.load_weights(saved)
    assert_unchanged(model, before)


def test_bit_flip_in_index_file(saved, target):
    model, before = target
    index = saved + ".index"
    with open(index, "rb") as f:
        raw = bytearray(f.read())
    raw[20] ^= 0x01
    with open(index, "wb") as f:
        f.write(raw)
    with pytest.raises(FormatError, match=r"cp\.ckpt\.index"):
        model.load_weights(saved)
    assert_unchanged(model, before)


def test_garbage_index_file(saved, target):
    model, before = target
    with open(saved + ".index", "wb") as f:
        f.write(b"not a checkpoint")
    with pytest.raises(FormatError):
        model.load_weights(saved)
    assert_unchanged(model, before)


# ----------------------------------------------------------------------------- mismatches
def test_shape_mismatch_names_layer_variable_and_both_shapes(tmp_path):
    big = keras.Sequential([keras.layers.Dense(512, input_shape=(784,), name="dense_1"),
                            keras.layers.Dense(10, name="dense_2")])
    prefix = os.path.join(tmp_path, "big")
    big.save_weights(prefix)
    small = keras.Sequential([keras.layers.Dense(256, input_shape=(784,), name="dense_1"),
                              keras.layers.Dense(10, name="dense_2")])
    small.compile("adam", "mse")
    before = state_of(small)
    with pytest.raises(ShapeError, match=r'Shape mismatch for layer "dense_1" variable "kernel": '
                                         r"checkpoint has \(784, 512\), model has \(784, 256\)"):
        small.load_weights(prefix)
    assert_unchanged(small, before)


def test_shape_mismatch_in_a_later_layer_assigns_nothing(tmp_path, target):
    model, before = target
    other = mlp()
    bigger_out = keras.Sequential([keras.layers.Dense(4, input_shape=(6,)), keras.layers.Dense(3)])
    prefix = os.path.join(tmp_path, "other")
    bigger_out.save_weights(prefix)
    with pytest.raises(ShapeError, match=r'variable "kernel": checkpoint has \(4, 3\), model has '
                                         r"\(4, 2\)"):
        model.load_weights(prefix)
    assert_unchanged(model, before)  # the first layer, which matched, was not assigned either
    del other


def test_optimizer_slot_shape_mismatch(tmp_path):
    source = trained(hidden=4)
    prefix = os.path.join(tmp_path, "cp")
    source.save_weights(prefix)
    with BundleReader(prefix) as r:
        tensors = {k: r.get_tensor(k) for k in r.keys()}
    tensors[ADAM_M] = np.zeros((5, 5), "float32")
    from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    write_bundle(prefix, tensors)
    model, before = trained(hidden=4), None
    before = state_of(model)
    with pytest.raises(ShapeError, match=r"checkpoint has \(5, 5\), model has \(6, 4\)"):
        model.load_weights(prefix)
    assert_unchanged(model, before)


def test_dtype_mismatch(tmp_path, target):
    model, before = target
    as_float64 = mlp(dtype="float64")
    prefix = os.path.join(tmp_path, "f64")
    as_float64.save_weights(prefix)
    with pytest.raises(DTypeError, match=r"Dtype mismatch for variable 'hidden/kernel': "
                                         r"checkpoint has float64, model has float32"):
        model.load_weights(prefix)
    assert_unchanged(model, before)


def test_checkpoint_of_another_architecture(tmp_path, target):
    model, before = target
    inputs = keras.Input((6,))
    other = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.BatchNormalization()(inputs)))
    prefix = os.path.join(tmp_path, "other")
    other.save_weights(prefix)
    with pytest.raises(ConfigError, match=r"does not match the model: no value for 2 of its "
                                          r"variables \['hidden/kernel', 'hidden/bias'\]\. It "
                                          r"holds values this model has no place for, e\.g\. "
                                          r"\['layer_with_weights-0/beta/.*nothing was loaded"):
        model.load_weights(prefix)
    assert_unchanged(model, before)


def test_checkpoint_of_a_shorter_model(tmp_path, target):
    model, before = target
    three = keras.Sequential([keras.layers.Dense(4, input_shape=(6,)), keras.layers.Dense(2),
                              keras.layers.Dense(2)])
    prefix = os.path.join(tmp_path, "three")
    three.save_weights(prefix)
    one = keras.Sequential([keras.layers.Dense(4, input_shape=(6,))])
    one.save_weights(prefix + "1")
    with pytest.raises(ConfigError, match=r"no value for 2 of its variables \['out/kernel', "
                                          r"'out/bias'\]\. It was saved from another "
                                          r"architecture; nothing was loaded\. Fix: build the "
                                          r"model the checkpoint was saved from"):
        model.load_weights(prefix + "1")
    assert_unchanged(model, before)


def test_tf1_name_based_checkpoint_is_refused(tmp_path, target):
    model, before = target
    from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    prefix = os.path.join(tmp_path, "tf1")
    write_bundle(prefix, {"dense/kernel": np.zeros((6, 4), "float32")})
    with pytest.raises(FormatError, match=r"Expected an object-based \(TF2\) checkpoint with a "
                                          r"_CHECKPOINTABLE_OBJECT_GRAPH entry.*Fix: re-save it"):
        model.load_weights(prefix)
    assert_unchanged(model, before)


def test_every_error_is_a_savepoint_error():
    for cls in (CheckpointNotFoundError, ConfigError, DTypeError, FormatError, ShapeError):
        assert issubclass(cls, SavepointError)


# ----------------------------------------------------------------------------- atomic saves
def snapshot_dir(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = f.read()
    return out


class Boom(OSError):
    pass


@pytest.fixture
def previous(tmp_path):
    model = trained()
    directory = os.path.join(tmp_path, "training_1")
    prefix = os.path.join(directory, "cp.ckpt")
    model.save_weights(prefix)
    model.fit(X, Y, batch_size=4, verbose=0)  # the next save would write different bytes
    return model, prefix, directory, snapshot_dir(directory)


def test_failure_while_writing_data_keeps_the_previous_checkpoint(monkeypatch, previous):
    model, prefix, directory, before = previous
    real_write = storage.AtomicWriter.write

    def failing_write(self, data):
        if self.bytes_written > 64:
            raise Boom("disk full")
        return real_write(self, data)

    monkeypatch.setattr(storage.AtomicWriter, "write", failing_write)
    with pytest.raises(Boom):
        model.save_weights(prefix)
    assert snapshot_dir(directory) == before


def test_failure_syncing_the_index_keeps_the_previous_checkpoint(monkeypatch, previous):
    """The index is flushed last; a full disk there must not leave new data beside the old
    index (both files are synced before either is renamed)."""
    model, prefix, directory, before = previous
    real_sync = storage.AtomicWriter.sync

    def failing_sync(self):
        if self.path.endswith(".index"):
            raise Boom("No space left on device")
        return real_sync(self)

    monkeypatch.setattr(storage.AtomicWriter, "sync", failing_sync)
    with pytest.raises(Boom):
        model.save_weights(prefix)
    assert snapshot_dir(directory) == before
    model2 = mlp()
    model2.load_weights(prefix).assert_existing_objects_matched().expect_partial()


def test_failure_writing_the_state_file_keeps_the_previous_one(monkeypatch, previous):
    model, _, directory, before = previous

    def failing_replace(path, text):
        raise Boom("cannot write state")

    monkeypatch.setattr(storage, "replace_text_atomically", failing_replace)
    with pytest.raises(Boom):
        model.save_weights(os.path.join(directory, "cp2.ckpt"))
    after = snapshot_dir(directory)
    assert after["checkpoint"] == before["checkpoint"]
    assert all(after[name] == data for name, data in before.items())
    assert not [n for n in after if storage.is_temp_name(n)]


def test_manager_failure_keeps_state_and_old_checkpoints(monkeypatch, tmp_path):
    from savepoint.train import Checkpoint, CheckpointManager
    model = trained()
    manager = CheckpointManager(Checkpoint(model=model), str(tmp_path), max_to_keep=1)
    manager.save()
    before = snapshot_dir(tmp_path)
    real_write = storage.AtomicWriter.write

    def failing_write(self, data):
        if self.bytes_written > 16:
            raise Boom("disk full")
        return real_write(self, data)

    monkeypatch.setattr(storage.AtomicWriter, "write", failing_write)
    with pytest.raises(Boom):
        manager.save()
    assert snapshot_dir(tmp_path) == before
