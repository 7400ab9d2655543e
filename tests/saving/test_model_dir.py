"""The model directory: layout, round trips per model family, inference program, assets,
atomic replacement and ModelCheckpoint saving whole models."""

import io
import json
import os
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import OverwriteError, ShapeError
from savepoint.saving.handlers import model_dir
from savepoint.exports.inference_model import InferenceModel
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(0)


from saving_model_families import (conv_sequential, functional,  # noqa: E402
                                   sequential, subclassed, targets_for, trained)


def summary_text(model):
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        model.summary()
    return buffer.getvalue()


def flat(outputs):
    return outputs if isinstance(outputs, list) else [outputs]


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("factory", [sequential, conv_sequential, functional, subclassed])
def test_round_trip_every_family(tmp_path, factory):
    model, x = trained(factory)
    path = str(tmp_path / "my_model")
    model.save(path)
    keras.backend.clear_session()  # as in a fresh process: sublayers get the same names
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert len(loaded.weights) == len(model.weights)
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path and np.array_equal(a.numpy(), b.numpy())
    for a, b in zip(flat(model.predict(x, verbose=0)), flat(loaded.predict(x, verbose=0))):
        np.testing.assert_array_equal(a, b)
    assert summary_text(loaded) == summary_text(model)
    assert type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())


@pytest.mark.parametrize("factory", [sequential, conv_sequential, functional, subclassed])
def test_inference_program_predicts_like_the_model(tmp_path, factory):
    model, x = trained(factory)
    path = str(tmp_path / "m")
    model.save(path)
    meta = model_dir.read_meta(path)
    assert meta["inference"]["available"] is True
    program = model_dir.load_inference(path, meta)
    assert isinstance(program, InferenceModel)
    for a, b in zip(flat(model.predict(x, verbose=0)),
                    flat(program.predict(x, batch_size=3, verbose=0))):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_layout_and_metadata(tmp_path):
    model, _ = trained(sequential)
    path = str(tmp_path / "saved_model" / "my_model")
    model.save(path)
    assert sorted(os.listdir(path)) == ["assets", "fingerprint.json", "fingerprint.pb",
                                        "inference", "keras_metadata.pb", "saved_model.json",
                                        "saved_model.pb", "variables"]  # TF's files too
    assert sorted(os.listdir(os.path.join(path, "variables"))) == [
        "variables.data-00000-of-00001", "variables.index"]
    meta = json.loads(open(os.path.join(path, "saved_model.json")).read())
    assert meta["format"] == "savepoint.model" and meta["format_version"] == 1
    assert meta["torch_version"] == torch.__version__ and meta["savepoint_version"]
    assert meta["model_config"]["class_name"] == "Sequential"
    assert meta["compile_config"]["optimizer"]["class_name"] == "Adam"
    prints = json.loads(open(os.path.join(path, "fingerprint.json")).read())
    assert sorted(prints["files"]) == ["fingerprint.pb", "inference/program.json",
                                       "keras_metadata.pb",
                                       "saved_model.json", "saved_model.pb",
                                       "variables/variables.data-00000-of-00001",
                                       "variables/variables.index"]
    program = open(os.path.join(path, "inference", "program.json"), "rb").read()
    assert not program.startswith(b"\x80") and json.loads(program)["guards_code"] == []
    assert str(tmp_path) not in program.decode()  # no stack traces with local paths


def test_variables_are_a_tensorflow_checkpoint_with_optimizer_state(tmp_path):
    model, _ = trained(sequential)
    path = str(tmp_path / "m")
    model.save(path)
    names = dict(keras.train.list_variables(os.path.join(path, "variables", "variables")))
    assert names["layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"] == [5, 8]
    assert "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert any(k.startswith("optimizer/_variables/") for k in names)
    reader = keras.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    np.testing.assert_array_equal(
        reader.get_tensor("layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE"),
        model.layers[2].bias.detach().numpy())


def test_include_optimizer_false_and_compile_false(tmp_path):
    model, x = trained(sequential)
    path = str(tmp_path / "m")
    model.save(path, include_optimizer=False)
    names = dict(keras.train.list_variables(os.path.join(path, "variables", "variables")))
    assert not any(k.startswith("optimizer/") for k in names)
    with pytest.warns(UserWarning, match=r"No training configuration found"):
        loaded = keras.models.load_model(path)
    assert loaded.optimizer is None and not loaded.compiled
    model.save(path)
    inference_only = keras.models.load_model(path, compile=False)
    assert inference_only.optimizer is None
    np.testing.assert_array_equal(inference_only.predict(x, verbose=0), model.predict(x, verbose=0))


def test_compile_restores_loss_metrics_and_evaluate(tmp_path):
    model, x = trained(sequential)
    y = targets_for(model)
    path = str(tmp_path / "m")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.metrics_names == model.metrics_names
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_unbuilt_model_cannot_be_saved(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(keras.errors.NotBuiltError, match=r"cannot be saved before it is built"):
        model.save(str(tmp_path / "m"))
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- replacing
def test_save_replaces_an_existing_model_atomically(tmp_path):
    path = str(tmp_path / "m")
    first, x = trained(sequential)
    first.save(path)
    second = sequential()
    second.save(path)
    assert os.listdir(tmp_path) == ["m"]  # no temporary or old directory left behind
    loaded = keras.models.load_model(path, compile=False)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), second.predict(x, verbose=0))


def test_save_refuses_to_replace_foreign_directory_or_file(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(OverwriteError, match=r"non-empty directory that holds no "
                                             r"saved_model.json"):
        sequential().save(str(foreign))
    assert (foreign / "cat.jpg").read_bytes() == b"meow"
    (tmp_path / "afile").write_bytes(b"x")
    with pytest.raises(OverwriteError, match=r"Received an existing file"):
        sequential().save(str(tmp_path / "afile"))
    with pytest.raises(OverwriteError, match=r"overwrite=False"):
        sequential().save(str(tmp_path / "m")) or sequential().save(str(tmp_path / "m"),
                                                                     overwrite=False)


def test_failed_save_leaves_old_model_and_no_temp(tmp_path, monkeypatch):
    path = str(tmp_path / "m")
    model, x = trained(sequential)
    model.save(path)
    before = model.predict(x, verbose=0)
    from savepoint.saving.handlers import fingerprint
    def boom(*args):
        raise OSError("disk full")
    monkeypatch.setattr(fingerprint, "write_fingerprint", boom)
    with pytest.raises(OSError, match="disk full"):
        sequential().save(path)
    assert os.listdir(tmp_path) == ["m"]
    loaded = keras.models.load_model(path, compile=False)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)


def test_commit_directory_puts_old_back_when_rename_fails(tmp_path, monkeypatch):
    from savepoint.saving import storage
    target = str(tmp_path / "m")
    os.mkdir(target)
    (tmp_path / "m" / "old").write_bytes(b"1")
    temp = storage.temp_dir_for(target)
    real_rename = os.rename

    def rename(src, dst):
        if src == temp:
            raise OSError("rename failed")
        return real_rename(src, dst)
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        storage.commit_directory(temp, target)
    assert os.listdir(target) == ["old"]


def test_stale_temp_directories_are_cleaned(tmp_path):
    from savepoint.saving import storage
    temp = storage.temp_dir_for(str(tmp_path / "m"))
    open(os.path.join(temp, "x"), "wb").close()
    assert storage.remove_stale_temp_files(str(tmp_path)) == []  # ours, still being written
    stale = str(tmp_path / ".m.tmp-999999999-abcdef")  # a killed writer's
    os.rename(temp, stale)
    assert storage.remove_stale_temp_files(str(tmp_path)) == [os.path.basename(stale)]
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- inference only
def test_inference_model_checks_inputs_and_refuses_training(tmp_path):
    model, x = trained(sequential)
    path = str(tmp_path / "m")
    model.save(path)
    program = model_dir.load_inference(path, model_dir.read_meta(path))
    np.testing.assert_allclose(program(torch.from_numpy(x[:1])).numpy(),
                               model.predict(x[:1], verbose=0), rtol=1e-6, atol=1e-6)
    with pytest.raises(ShapeError, match=r"expected shape \(None, 5\). Received \(8, 4\)"):
        program.predict(x[:, :4])
    with pytest.raises(keras.errors.ConfigError, match=r"loaded for inference only"):
        program.fit(x, x)
    with pytest.raises(keras.errors.ConfigError, match=r"training=True"):
        program(x, training=True)


def test_unexportable_model_saves_without_program(tmp_path):
    class Host(keras.layers.Layer):
        def call(self, x):
            return x * float(x.sum())  # a host sync on data: torch.export cannot trace it
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), Host()])
    path = str(tmp_path / "m")
    model.save(path)
    meta = model_dir.read_meta(path)
    assert meta["inference"]["available"] is False and meta["inference"]["reason"]
    assert not os.path.exists(os.path.join(path, "inference"))
    loaded = keras.models.load_model(path, custom_objects={"Host": Host}, compile=False)
    x = RNG.random((4, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ----------------------------------------------------------------------------- assets
@keras.saving.register_serializable(package="test_model_dir")
class Vocabulary(keras.layers.Layer):
    """Maps token ids to positions in a vocabulary shipped as an asset (unknown -> 0)."""

    def __init__(self, vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        self._autocast_inputs = False
        self.set_vocabulary(vocabulary or [])

    def set_vocabulary(self, tokens):
        self.vocabulary = [int(t) for t in tokens]
        table = torch.zeros(max(self.vocabulary, default=0) + 1, dtype=torch.int64)
        for i, token in enumerate(self.vocabulary):
            table[token] = i + 1
        self.table = table

    def call(self, ids):
        ids = ids.long().clamp(0, self.table.shape[0] - 1)
        return self.table[ids].float()

    def get_assets(self):
        return {"vocabulary.txt": "\n".join(map(str, self.vocabulary)).encode()}

    def load_assets(self, files):
        self.set_vocabulary(files["vocabulary.txt"].decode().split())


def test_assets_round_trip(tmp_path):
    vocab = Vocabulary([7, 3, 9], name="vocab", input_shape=(4,))
    model = keras.Sequential([vocab])
    path = str(tmp_path / "m")
    model.save(path)
    assert open(os.path.join(path, "assets", "vocab", "vocabulary.txt")).read() == "7\n3\n9"
    meta = model_dir.read_meta(path)
    assert meta["assets"] == {"vocab": ["vocabulary.txt"]}
    loaded = keras.models.load_model(path, compile=False)
    assert loaded.layers[0].vocabulary == [7, 3, 9]
    ids = np.array([[7, 3, 9, 5]], "int64")
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), [[1.0, 2.0, 3.0, 0.0]])


def test_asset_names_must_be_plain_files(tmp_path):
    class Bad(keras.layers.Layer):
        def get_assets(self):
            return {"../escape.txt": b"x"}
    model = keras.Sequential([Bad(input_shape=(2,))])
    with pytest.raises(keras.errors.ConfigError, match=r"Expected a plain file name"):
        model.save(str(tmp_path / "m"))
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_saves_whole_model_directories(tmp_path):
    set_random_seed(1)
    model = sequential()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = RNG.random((8, 5), dtype=np.float32), RNG.integers(0, 3, 8)
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}")
    callback = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=False, max_to_keep=2)
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["model-02", "model-03"]
    restored = keras.models.load_model(str(tmp_path / "ckpt" / "model-03"))
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(restored.optimizer.iterations.numpy()) == 6
