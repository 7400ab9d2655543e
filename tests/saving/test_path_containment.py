"""Path containment (issue 12, point 3): state files name checkpoints inside their own directory
only, and pruning deletes exactly the files the bundle layout names, never a victim's files."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, FormatError
from savepoint.saving.api.checkpoint_manager import delete_checkpoint_files
from savepoint.saving.formats.tf_checkpoint.layout import is_bundle_file
from savepoint.saving.formats.tf_checkpoint.state_file import (get_checkpoint_state, is_inside,
                                                               latest_checkpoint, read_state,
                                                               resolve_latest, write_state)
from savepoint.train import Checkpoint, CheckpointManager, load_checkpoint

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "tf")
VICTIM_FILES = {"important.index": b"victim index bytes",
                "important.data-00000-of-00001": b"victim data bytes",
                "important.data-precious.txt": b"precious, not a shard"}


@pytest.fixture
def victim(tmp_path):
    """A directory next to the checkpoint directory holding files nobody may delete."""
    directory = tmp_path / "victim"
    directory.mkdir()
    for name, content in VICTIM_FILES.items():
        (directory / name).write_bytes(content)
    return directory


def assert_intact(directory, expected=VICTIM_FILES):
    for name, content in expected.items():
        assert (directory / name).read_bytes() == content, name


def plant_state(directory, model_path, all_paths):
    text = f'model_checkpoint_path: "{model_path}"\n' + "".join(
        f'all_model_checkpoint_paths: "{p}"\n' for p in all_paths)
    (directory / "checkpoint").write_text(text)
    return text


def value_checkpoint():
    return Checkpoint(v=torch.tensor([1.0, 2.0]))


def outside_message(state_path, named):
    return (rf"The checkpoint state file '{re.escape(str(state_path))}' names checkpoint "
            rf"'{re.escape(named)}', which lies outside its directory\. Expected a checkpoint "
            rf"inside '{re.escape(str(state_path.parent))}' .* Fix: delete the state file, or "
            rf"rewrite it to name checkpoints inside")


# ----------------------------------------------------------------------------- the attacks
@pytest.mark.parametrize("where", ["relative", "absolute"])
@pytest.mark.parametrize("field", ["model_checkpoint_path", "all_model_checkpoint_paths"])
def test_manager_never_prunes_a_victim_named_by_the_state_file(tmp_path, victim, where, field):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    named = "../victim/important" if where == "relative" else str(victim / "important")
    if field == "model_checkpoint_path":
        text = plant_state(ckpts, named, [named])
    else:  # hidden among older checkpoints; the latest is a legitimate one
        (ckpts / "ckpt-7.index").write_bytes(b"")
        text = plant_state(ckpts, "ckpt-7", [named, "ckpt-7"])
    with pytest.raises(FormatError, match=outside_message(ckpts / "checkpoint", named)):
        manager = CheckpointManager(value_checkpoint(), str(ckpts), max_to_keep=1)
        for _ in range(3):  # the old code pruned the victim on the first of these
            manager.save()
    assert_intact(victim)
    assert (ckpts / "checkpoint").read_text() == text  # refused, not rewritten


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_every_reader_refuses_an_outside_path(tmp_path, victim, where):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    named = "../victim/important" if where == "relative" else str(victim / "important")
    plant_state(ckpts, named, [named])
    message = outside_message(ckpts / "checkpoint", named)
    for read in (read_state, get_checkpoint_state, latest_checkpoint, resolve_latest,
                 load_checkpoint):
        with pytest.raises(FormatError, match=message):
            read(str(ckpts))
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(FormatError, match=message):
        model.load_weights(str(ckpts))  # a directory: follows its state file
    assert_intact(victim)


def test_manager_prunes_no_lookalike_of_its_own_prefix(tmp_path):
    lookalikes = {"ckpt-1.data-precious.txt": b"notes", "ckpt-1.data-00000-of-00001.bak": b"b",
                  "ckpt-1.data-00001-of-00001": b"shard id not below the count",
                  "ckpt-1.data-0-of-1": b"not five digits", "ckpt-1.indexes": b"i"}
    for name, content in lookalikes.items():
        (tmp_path / name).write_bytes(content)
    manager = CheckpointManager(value_checkpoint(), str(tmp_path), max_to_keep=1)
    manager.save()
    manager.save()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001", *lookalikes])
    assert_intact(tmp_path, lookalikes)


def fit_with_checkpoints(pattern, epochs):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = np.ones((4, 3), "float32")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, max_to_keep=1)
    model.fit(x, x[:, :1], epochs=epochs, verbose=0, callbacks=[cb])


def test_model_checkpoint_prunes_exactly_the_bundle_files(tmp_path, victim):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    lookalikes = {"important-1.data-precious.txt": b"notes",
                  "important-1.data-00000-of-00001.bak": b"backup",
                  "important-1.data-00003-of-00002": b"shard id not below the count"}
    for name, content in lookalikes.items():
        (ckpts / name).write_bytes(content)
    plant_state(ckpts, "../victim/important", ["../victim/important"])  # replaced, never read
    fit_with_checkpoints(str(ckpts / "important-{epoch}"), epochs=3)
    assert sorted(os.listdir(ckpts)) == sorted(
        ["checkpoint", "important-3.index", "important-3.data-00000-of-00001", *lookalikes])
    assert_intact(ckpts, lookalikes)
    assert_intact(victim)
    assert latest_checkpoint(str(ckpts)) == str(ckpts / "important-3")


# ----------------------------------------------------------------------------- writing
@pytest.mark.parametrize("outside", ["../victim/important", "/elsewhere/important"])
def test_write_state_refuses_an_outside_path(tmp_path, outside):
    ckpts = tmp_path / "ckpts"
    write_state(str(ckpts), str(ckpts / "cp-1"))
    before = (ckpts / "checkpoint").read_text()
    given = outside if outside.startswith("/") else str(ckpts / outside)
    expected = (rf"Expected checkpoint paths inside the state file's directory "
                rf"'{re.escape(str(ckpts))}'\. Received '{re.escape(given)}', which lies outside "
                rf"it\. Fix: save the checkpoint inside")
    with pytest.raises(ConfigError, match=expected):
        write_state(str(ckpts), given)
    with pytest.raises(ConfigError, match=expected):
        write_state(str(ckpts), str(ckpts / "cp-2"), [given])
    assert (ckpts / "checkpoint").read_text() == before


def test_delete_checkpoint_files_refuses_a_prefix_outside_its_directory(tmp_path, victim):
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    prefix = str(ckpts / ".." / "victim" / "important")
    with pytest.raises(ConfigError, match=rf"Expected a checkpoint inside "
                                          rf"'{re.escape(str(ckpts))}' to delete\. Received "
                                          rf"'{re.escape(prefix)}', which lies outside it"):
        delete_checkpoint_files(prefix, str(ckpts))
    assert_intact(victim)


# ----------------------------------------------------------------------------- what stays legal
@pytest.mark.parametrize("name,base", [
    ("cp.index", "cp"), ("cp.data-00000-of-00001", "cp"), ("cp.data-00002-of-00003", "cp"),
    ("a.b.data-00000-of-00001", "a.b")])
def test_layout_names_its_files(name, base):
    assert is_bundle_file(name, base)


@pytest.mark.parametrize("name,base", [
    ("cp.data-precious.txt", "cp"), ("cp.data-00001-of-00001", "cp"), ("cp.data-0-of-1", "cp"),
    ("cp.data-00000-of-00001.bak", "cp"), ("cp.index.bak", "cp"), ("cpx.index", "cp"),
    ("cp2.data-00000-of-00001", "cp"), ("cp.data-\u0660\u0660\u0660\u0660\u0660-of-00001", "cp")])
def test_layout_names_nothing_else(name, base):
    assert not is_bundle_file(name, base)


@pytest.mark.parametrize("path,inside", [
    ("cp", True), ("sub/cp", True), ("sub/../cp", True), ("..cp", True), ("../ckpts/cp", True),
    ("../cp", False), ("sub/../../cp", False), (".", False), ("", False), ("/elsewhere/cp", False)])
def test_is_inside_resolves_dots_lexically(tmp_path, path, inside):
    assert is_inside(path, str(tmp_path / "ckpts")) is inside


def test_legitimate_names_are_read_recovered_and_pruned(tmp_path):
    ckpts = tmp_path / "ckpts"
    (ckpts / "sub").mkdir(parents=True)
    names = ["plain", "sub/nested", str(ckpts / "absolute")]
    for name in names:
        Checkpoint(v=torch.tensor([1.0])).write(os.path.join(ckpts, name))
    plant_state(ckpts, names[-1], names)
    assert latest_checkpoint(str(ckpts)) == str(ckpts / "absolute")
    assert get_checkpoint_state(str(ckpts)).all_model_checkpoint_paths == [
        str(ckpts / "plain"), str(ckpts / "sub" / "nested"), str(ckpts / "absolute")]
    manager = CheckpointManager(value_checkpoint(), str(ckpts), max_to_keep=1)
    assert manager.checkpoints == [str(ckpts / n) for n in ("plain", "sub/nested", "absolute")]
    newest = manager.save()
    assert manager.checkpoints == [newest]
    assert sorted(os.listdir(ckpts)) == ["checkpoint", "ckpt-1.data-00000-of-00001",
                                         "ckpt-1.index", "sub"]
    assert os.listdir(ckpts / "sub") == []
    assert latest_checkpoint(str(ckpts)) == newest


@pytest.mark.parametrize("fixture", sorted(
    d for d in os.listdir(FIXTURES) if os.path.exists(os.path.join(FIXTURES, d, "checkpoint"))))
def test_state_files_tensorflow_wrote_still_read(tmp_path, fixture):
    source = os.path.join(FIXTURES, fixture)
    state = read_state(source)
    prefix = os.path.join(source, state.model_checkpoint_path)
    assert latest_checkpoint(source) == resolve_latest(source) == prefix
    assert load_checkpoint(source).get_variable_to_shape_map()
    copy = shutil.copytree(source, tmp_path / fixture)
    manager = CheckpointManager(value_checkpoint(), str(copy), max_to_keep=5)
    assert manager.checkpoints == [os.path.join(copy, state.model_checkpoint_path)]
