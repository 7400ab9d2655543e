"""``savepoint.train``: Checkpoint save/write/read/restore, latest_checkpoint, load_checkpoint,
list_variables, as TensorFlow's ``tf.train`` behaves."""

import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import CheckpointNotFoundError, ConfigError
from savepoint.train import Checkpoint, latest_checkpoint, list_variables, load_checkpoint


def trained_model():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)), batch_size=4,
              verbose=0)
    return model


def read_text(path):
    with open(path) as f:
        return f.read()


# ----------------------------------------------------------------------------- Checkpoint.save
def test_save_numbers_prefixes_and_updates_the_state_file(tmp_path):
    model = trained_model()
    ckpt = Checkpoint(model=model, optimizer=model.optimizer)
    prefix = os.path.join(tmp_path, "ckpts", "ckpt")
    assert ckpt.save(prefix) == prefix + "-1"
    assert ckpt.save(prefix) == prefix + "-2"
    assert int(ckpt.save_counter.numpy()) == 2
    assert read_text(os.path.join(tmp_path, "ckpts", "checkpoint")) == (
        'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    assert sorted(os.listdir(os.path.join(tmp_path, "ckpts"))) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
        "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    assert latest_checkpoint(os.path.join(tmp_path, "ckpts")) == prefix + "-2"


def test_checkpoint_keys_follow_tensorflow(tmp_path):
    model = trained_model()
    path = Checkpoint(model=model, optimizer=model.optimizer).save(os.path.join(tmp_path, "c"))
    names = [name for name, _ in list_variables(path)]
    assert names == [
        "_CHECKPOINTABLE_OBJECT_GRAPH",
        "model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE",
        *[f"optimizer/_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE" for i in range(1, 9)],
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE"]


def test_restore_brings_back_model_optimizer_and_save_counter(tmp_path):
    model = trained_model()
    ckpt = Checkpoint(model=model, optimizer=model.optimizer)
    ckpt.save(os.path.join(tmp_path, "ckpt"))
    path = ckpt.save(os.path.join(tmp_path, "ckpt"))

    other = trained_model()  # same architecture, different weights and slots
    other.fit(np.ones((4, 4), "float32"), np.ones((4, 1)), verbose=0)
    restored = Checkpoint(model=other, optimizer=other.optimizer)
    restored.restore(path).assert_consumed()
    for a, b in zip(model.get_weights(), other.get_weights()):
        assert np.array_equal(a, b)
    for a, b in zip(model.optimizer.variables, other.optimizer.variables):
        assert np.array_equal(a.numpy(), b.numpy())
    assert int(restored.save_counter.numpy()) == 2
    assert restored.save(os.path.join(tmp_path, "ckpt")).endswith("ckpt-3")


def test_write_and_read_use_the_exact_prefix_without_state_file(tmp_path):
    model = trained_model()
    ckpt = Checkpoint(model=model)
    prefix = os.path.join(tmp_path, "exact")
    assert ckpt.write(prefix) == prefix
    assert sorted(os.listdir(tmp_path)) == ["exact.data-00000-of-00001", "exact.index"]
    assert int(ckpt.save_counter.numpy()) == 0
    before = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in before])
    ckpt.read(prefix).assert_existing_objects_matched().expect_partial()
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)


def test_restore_none_restores_nothing_and_says_so():
    model = trained_model()
    before = model.get_weights()
    status = Checkpoint(model=model).restore(None)
    with pytest.raises(AssertionError, match=r"No checkpoint specified \(save_path=None\); "
                                             r"nothing is being restored\."):
        status.assert_consumed()
    with pytest.raises(AssertionError, match="nothing is being restored"):
        status.assert_existing_objects_matched()
    status.expect_partial()
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)


def test_restore_of_a_missing_prefix_raises(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"Expected a checkpoint at .*nope.*nope\.index"
                                                      r".*Fix: check the path"):
        Checkpoint(model=trained_model()).restore(os.path.join(tmp_path, "nope"))


def test_torch_module_and_tensors_round_trip(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    net[1].running_mean.add_(1.5)
    step = torch.tensor(7, dtype=torch.int64)
    ckpt = Checkpoint(net=net, step=step)
    path = ckpt.save(os.path.join(tmp_path, "torch"))
    names = dict(list_variables(path))
    assert names["net/0/weight/.ATTRIBUTES/VARIABLE_VALUE"] == [2, 3]
    assert names["net/1/running_mean/.ATTRIBUTES/VARIABLE_VALUE"] == [2]
    assert names["step/.ATTRIBUTES/VARIABLE_VALUE"] == []
    saved = {k: v.clone() for k, v in net.state_dict().items()}

    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.zero_()
    step.fill_(0)
    ckpt.restore(path).assert_consumed()
    for key, value in net.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert int(step) == 7


def test_torch_module_restores_into_a_fresh_module(tmp_path):
    torch.manual_seed(0)
    source = torch.nn.Linear(3, 2)
    path = Checkpoint(layer=source).save(os.path.join(tmp_path, "lin"))
    torch.manual_seed(1)
    target = torch.nn.Linear(3, 2)
    Checkpoint(layer=target).restore(path).assert_consumed()
    assert torch.equal(source.weight, target.weight) and torch.equal(source.bias, target.bias)


def test_checkpoint_refuses_untrackable_objects():
    with pytest.raises(ConfigError, match=r"Checkpoint expected trackable objects .* Received "
                                          r"str: 'hello'"):
        Checkpoint(thing="hello")


# ----------------------------------------------------------------------------- module functions
def test_latest_checkpoint(tmp_path):
    assert latest_checkpoint(str(tmp_path)) is None
    assert latest_checkpoint(os.path.join(tmp_path, "missing_dir")) is None
    model = trained_model()
    model.save_weights(os.path.join(tmp_path, "cp-0001.ckpt"))
    model.save_weights(os.path.join(tmp_path, "cp-0002.ckpt"))
    assert latest_checkpoint(str(tmp_path)) == os.path.join(tmp_path, "cp-0002.ckpt")


def test_latest_checkpoint_ignores_a_state_file_naming_a_deleted_checkpoint(tmp_path):
    model = trained_model()
    model.save_weights(os.path.join(tmp_path, "cp.ckpt"))
    os.remove(os.path.join(tmp_path, "cp.ckpt.index"))
    assert latest_checkpoint(str(tmp_path)) is None


def test_load_checkpoint_reader_methods(tmp_path):
    model = trained_model()
    path = os.path.join(tmp_path, "cp.ckpt")
    model.save_weights(path)
    for target in (path, str(tmp_path)):  # a prefix, or a directory (its latest checkpoint)
        with load_checkpoint(target) as reader:
            key = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
            assert np.array_equal(reader.get_tensor(key), model.get_weights()[0])
            assert reader.get_variable_to_shape_map()[key] == [4, 3]
            assert reader.get_variable_to_dtype_map()[key] == "float32"
            assert reader.get_variable_to_dtype_map()[
                "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == "int64"
            assert reader.has_tensor(key) and not reader.has_tensor("nope")
            assert int(reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) == 2


def test_load_checkpoint_missing_names_the_path(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"Received a path that names no checkpoint"):
        load_checkpoint(os.path.join(tmp_path, "absent.ckpt"))
    with pytest.raises(CheckpointNotFoundError, match="latest_checkpoint"):
        list_variables(str(tmp_path))  # an empty directory


def test_list_variables_sorted_with_shapes(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(5,))])
    model.save_weights(os.path.join(tmp_path, "w"))
    assert list_variables(os.path.join(tmp_path, "w")) == [
        ("_CHECKPOINTABLE_OBJECT_GRAPH", []),
        ("layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", [2]),
        ("layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", [5, 2])]
