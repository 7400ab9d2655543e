"""``Checkpoint.read_values``: saved values read by object path, the public way callbacks (such as
``BackupAndRestore``) read a checkpoint without spelling TensorFlow's keys."""

import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import CheckpointNotFoundError, ConfigError
from savepoint.layers.variable import Variable
from savepoint.train import Checkpoint, CheckpointOptions


class Node:
    """A checkpoint node with named children (as BackupAndRestore's training state)."""

    def __init__(self, **children):
        self.children = children

    def _trackable_children(self):
        return sorted(self.children.items())


def _variable(tensor, name):
    return Variable(tensor, name=name, path=name)


def _state():
    return Node(epoch=_variable(torch.tensor(3, dtype=torch.int64), "epoch"),
                rng=Node(numpy=_variable(torch.arange(4, dtype=torch.int64), "numpy"),
                         python=_variable(torch.ones(2), "python")))


def test_values_keyed_by_object_path_below_the_node(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    ckpt = Checkpoint(model=model, training_state=_state())
    path = ckpt.write(str(tmp_path / "ckpt"))
    values = ckpt.read_values(path, "training_state")
    assert sorted(values) == ["epoch", "rng/numpy", "rng/python"]
    assert values["epoch"] == 3 and values["epoch"].dtype == np.int64
    np.testing.assert_array_equal(values["rng/numpy"], np.arange(4))
    weights = ckpt.read_values(path, "model")
    np.testing.assert_array_equal(weights["layer_with_weights-0/kernel"],
                                  model.get_weights()[0])


def test_nothing_is_assigned(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    ckpt = Checkpoint(model=model)
    path = ckpt.write(str(tmp_path / "ckpt"))
    saved = model.get_weights()
    model.set_weights([w + 1 for w in saved])
    values = ckpt.read_values(path, "model")
    np.testing.assert_array_equal(values["layer_with_weights-0/kernel"], saved[0])
    np.testing.assert_array_equal(model.get_weights()[0], saved[0] + 1)


def test_a_node_the_file_lacks_reads_empty(tmp_path):
    path = Checkpoint(a=torch.zeros(1)).write(str(tmp_path / "ckpt"))
    assert Checkpoint(b=torch.zeros(1)).read_values(path, "b") == {}


def test_a_variable_node_is_keyed_by_the_empty_path(tmp_path):
    ckpt = Checkpoint(step=torch.tensor([1, 2]))
    path = ckpt.write(str(tmp_path / "ckpt"))
    values = ckpt.read_values(path, "step")
    assert list(values) == [""]
    np.testing.assert_array_equal(values[""], [1, 2])


def test_unknown_node_is_refused(tmp_path):
    ckpt = Checkpoint(model=keras.Sequential([keras.layers.Dense(2, input_shape=(3,))]))
    path = ckpt.write(str(tmp_path / "ckpt"))
    with pytest.raises(ConfigError, match=r"Expected `node` to name an object of this "
                                          r"Checkpoint, one of \['model', 'save_counter'\]\. "
                                          r"Received 'modle'"):
        ckpt.read_values(path, "modle")


def test_missing_checkpoint_raises(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="Expected a checkpoint at"):
        Checkpoint(a=torch.zeros(1)).read_values(str(tmp_path / "nothing"), "a")


def test_a_pending_async_save_lands_first(tmp_path):
    state = torch.zeros(1000)
    ckpt = Checkpoint(state=state)
    state.fill_(7)
    path = ckpt.save(str(tmp_path / "ckpt"), options=CheckpointOptions(enable_async=True))
    np.testing.assert_array_equal(ckpt.read_values(path, "state")[""], np.full(1000, 7.0))
    ckpt.sync()
    assert os.path.exists(path + ".index")
