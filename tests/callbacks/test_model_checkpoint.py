"""``ModelCheckpoint``: the tutorial's two runs exactly, then every option one by one."""

import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.saving.formats.tf_checkpoint import object_graph as og
from savepoint.train import latest_checkpoint, load_checkpoint


# ----------------------------------------------------------------------------- the tutorial
def create_model():
    model = keras.models.Sequential([
        keras.layers.Dense(512, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


@pytest.fixture
def mnist_1000(monkeypatch):
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    with pytest.warns(UserWarning):
        (train_images, train_labels), (test_images, test_labels) = \
            keras.datasets.mnist.load_data()
    train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
    test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0
    return (train_images, train_labels[:1000]), (test_images, test_labels[:1000])


# The object graph tf-keras 2.21 writes for the tutorial after fit with validation data
# (dumped with trackable_object_graph_pb2): (children, attribute checkpoint keys) per node.
def _var(key):
    return ([], [key + "/.ATTRIBUTES/VARIABLE_VALUE"])


TF_TUTORIAL_GRAPH = [
    ([(1, "layer_with_weights-0"), (1, "layer-0"), (2, "layer-1"), (3, "layer_with_weights-1"),
      (3, "layer-2"), (4, "optimizer"), (5, "train_tf_function"), (5, "train_function"),
      (6, "test_function"), (0, "root")], []),
    ([(7, "kernel"), (8, "bias")], []), ([], []), ([(9, "kernel"), (10, "bias")], []),
    ([(11, "_variables"), (12, "_iterations"), (13, "_learning_rate"), (14, "_index_dict"),
      (15, "_momentums"), (16, "_velocities")], []),
    ([], []), ([], []),
    _var("layer_with_weights-0/kernel"), _var("layer_with_weights-0/bias"),
    _var("layer_with_weights-1/kernel"), _var("layer_with_weights-1/bias"),
    ([(12, "0")] + [(17 + i, str(i + 1)) for i in range(8)], []),
    _var("optimizer/_iterations"), _var("optimizer/_learning_rate"), ([], []),
    ([(17, "0"), (19, "1"), (21, "2"), (23, "3")], []),
    ([(18, "0"), (20, "1"), (22, "2"), (24, "3")], []),
] + [_var(f"optimizer/_variables/{i}") for i in range(1, 9)]
TF_FULL_NAMES = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "iteration",
                 "learning_rate"] + [f"Adam/{s}/{v}" for v in ("dense/kernel", "dense/bias",
                                                               "dense_1/kernel", "dense_1/bias")
                                     for s in ("m", "v")]
WITHOUT_VALUES = {2, 5, 6, 14}  # Dropout, the two function placeholders, _index_dict


def test_tutorial_checkpoint_files_match_tensorflow_exactly(tmp_path, monkeypatch, mnist_1000,
                                                            capsys):
    (train_images, train_labels), (test_images, test_labels) = mnist_1000
    monkeypatch.chdir(tmp_path)
    model = create_model()
    cp_callback = keras.callbacks.ModelCheckpoint(filepath="training_1/cp.ckpt",
                                                  save_weights_only=True, verbose=1)
    model.fit(train_images, train_labels, epochs=1, validation_data=(test_images, test_labels),
              callbacks=[cp_callback], verbose=0)
    assert capsys.readouterr().out == "Epoch 1: saving model to training_1/cp.ckpt\n"

    assert sorted(os.listdir("training_1")) == [
        "checkpoint", "cp.ckpt.data-00000-of-00001", "cp.ckpt.index"]
    assert os.path.getsize("training_1/cp.ckpt.data-00000-of-00001") == 4_886_436
    assert os.path.getsize("training_1/cp.ckpt.index") == 978
    with open("training_1/checkpoint") as f:
        assert f.read() == ('model_checkpoint_path: "cp.ckpt"\n'
                            'all_model_checkpoint_paths: "cp.ckpt"\n')

    with load_checkpoint("training_1/cp.ckpt") as reader:
        graph = og.decode_object_graph(reader.get_tensor(og.OBJECT_GRAPH_KEY))
    ours = [([(c.node_id, c.local_name) for c in n.children],
             [a.checkpoint_key for a in n.attributes]) for n in graph.nodes]
    assert ours == TF_TUTORIAL_GRAPH
    assert [a.full_name for n in graph.nodes for a in n.attributes] == TF_FULL_NAMES
    assert [n.has_checkpoint_values for n in graph.nodes] == [
        i not in WITHOUT_VALUES for i in range(len(graph.nodes))]

    restored = create_model()
    loss, acc = restored.evaluate(test_images, test_labels, verbose=0)
    assert acc < 0.5  # untrained
    restored.load_weights(cp_callback.filepath)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        assert np.array_equal(a, b)
    assert restored.evaluate(test_images, test_labels, verbose=0) == \
        model.evaluate(test_images, test_labels, verbose=0)


def _small_classifier():
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(20,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_tutorial_save_freq_every_five_epochs(tmp_path, monkeypatch, capsys):
    """The tutorial's second run (1000 samples, batch 32, save_freq=5*32), shortened to 10
    epochs with a small model: checkpoints at epochs 5 and 10, messages as Keras prints."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 20)).astype("float32"), rng.integers(0, 10, 1000)
    checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
    model = _small_classifier()
    cp_callback = keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, verbose=1,
                                                  save_weights_only=True, save_freq=5 * 32)
    model.save_weights(checkpoint_path.format(epoch=0))
    model.fit(x, y, epochs=10, batch_size=32, callbacks=[cp_callback], verbose=0)
    assert capsys.readouterr().out == ("Epoch 5: saving model to training_2/cp-0005.ckpt\n"
                                       "Epoch 10: saving model to training_2/cp-0010.ckpt\n")
    assert sorted(os.listdir("training_2")) == [
        "checkpoint", "cp-0000.ckpt.data-00000-of-00001", "cp-0000.ckpt.index",
        "cp-0005.ckpt.data-00000-of-00001", "cp-0005.ckpt.index",
        "cp-0010.ckpt.data-00000-of-00001", "cp-0010.ckpt.index"]
    assert latest_checkpoint("training_2") == "training_2/cp-0010.ckpt"
    fresh = _small_classifier()
    fresh.load_weights(latest_checkpoint("training_2"))
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        assert np.array_equal(a, b)


# ----------------------------------------------------------------------------- options
def fit(model, data, callbacks, epochs=3, **kwargs):
    x, y = data
    return model.fit(x, y, epochs=epochs, batch_size=4, validation_data=(x, y),
                     callbacks=callbacks, verbose=0, **kwargs)


def test_filepath_template_with_epoch_and_logs_keys(tmp_path, make_model, data, scripted):
    pattern = os.path.join(tmp_path, "w-{epoch:02d}-{val_loss:.2f}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True)
    fit(make_model(), data, [scripted("val_loss", [0.5, 0.25, 0.125]), cb])
    assert latest_checkpoint(str(tmp_path)) == os.path.join(tmp_path, "w-03-0.12.ckpt")
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == [
        "w-01-0.50.ckpt.index", "w-02-0.25.ckpt.index", "w-03-0.12.ckpt.index"]


def test_filepath_template_with_batch(tmp_path, make_model, data):
    pattern = os.path.join(tmp_path, "w-{epoch}-{batch}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=3)
    fit(make_model(), data, [cb], epochs=2)  # 4 batches per epoch: saves after batches 3, 6
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == [
        "w-1-3.ckpt.index", "w-2-2.ckpt.index"]


def test_filepath_with_an_unknown_key_is_a_config_error(tmp_path, make_model, data):
    cb = keras.callbacks.ModelCheckpoint(os.path.join(tmp_path, "{nope}.ckpt"),
                                         save_weights_only=True)
    with pytest.raises(ConfigError, match=r"Failed to format the ModelCheckpoint filepath .*"
                                          r"key 'nope' is not in the logs\. Expected one of "
                                          r"epoch, batch or \['loss', 'val_loss'\]"):
        fit(make_model(), data, [cb], epochs=1)


def test_save_best_only_messages_and_files(tmp_path, make_model, data, scripted, capsys):
    path = os.path.join(tmp_path, "best.ckpt")
    cb = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True,
                                         save_weights_only=True, verbose=1)
    model = make_model()
    saved = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if os.path.exists(path + ".index"):
                with load_checkpoint(path) as r:
                    saved.append(r.get_tensor(
                        "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE").copy())

    fit(model, data, [scripted("val_loss", [0.5, 0.7, 0.25]), cb, Spy()])
    assert capsys.readouterr().out == (
        f"Epoch 1: val_loss improved from inf to 0.50000, saving model to {path}\n"
        f"Epoch 2: val_loss did not improve from 0.50000\n"
        f"Epoch 3: val_loss improved from 0.50000 to 0.25000, saving model to {path}\n")
    assert cb.best == 0.25
    assert np.array_equal(saved[0], saved[1]) and not np.array_equal(saved[1], saved[2])
    assert np.array_equal(saved[2], model.get_weights()[0])


@pytest.mark.parametrize("mode, monitor, values, saves", [
    ("max", "val_acc", [0.5, 0.4, 0.6], [1, 3]),
    ("auto", "val_accuracy", [0.5, 0.4, 0.6], [1, 3]),
    ("auto", "val_loss", [0.5, 0.4, 0.6], [1, 2]),
    ("min", "val_accuracy", [0.5, 0.4, 0.6], [1, 2]),
])
def test_mode_picks_the_direction(tmp_path, make_model, data, scripted, mode, monitor, values,
                                  saves):
    pattern = os.path.join(tmp_path, "e{epoch}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(pattern, monitor=monitor, mode=mode,
                                         save_best_only=True, save_weights_only=True)
    fit(make_model(), data, [scripted(monitor, values), cb])
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == [
        f"e{i}.ckpt.index" for i in saves]


def test_unknown_mode_warns_and_falls_back_to_auto(tmp_path):
    with pytest.warns(UserWarning, match=r"ModelCheckpoint mode 'sideways' is unknown, fallback "
                                         r"to auto mode\."):
        cb = keras.callbacks.ModelCheckpoint(os.path.join(tmp_path, "x"), mode="sideways")
    assert cb.best == np.inf


def test_initial_value_threshold(tmp_path, make_model, data, scripted, capsys):
    path = os.path.join(tmp_path, "best.ckpt")
    cb = keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True,
                                         initial_value_threshold=0.3, verbose=1)
    fit(make_model(), data, [scripted("val_loss", [0.5, 0.4, 0.2]), cb])
    assert capsys.readouterr().out == (
        "Epoch 1: val_loss did not improve from 0.30000\n"
        "Epoch 2: val_loss did not improve from 0.30000\n"
        f"Epoch 3: val_loss improved from 0.30000 to 0.20000, saving model to {path}\n")


def test_missing_monitor_warns_and_skips(tmp_path, make_model, data):
    path = os.path.join(tmp_path, "best.ckpt")
    cb = keras.callbacks.ModelCheckpoint(path, monitor="val_auc", save_best_only=True,
                                         save_weights_only=True)
    with pytest.warns(UserWarning, match=r"Can save best model only with val_auc available, "
                                         r"skipping\. Available logs keys: \['loss', 'val_loss'\]"):
        fit(make_model(), data, [cb], epochs=1)
    assert not os.path.exists(path + ".index")


def test_save_freq_integer_counts_batches_across_epochs(tmp_path, make_model, data, capsys):
    pattern = os.path.join(tmp_path, "cp-{epoch}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=6, verbose=1)
    fit(make_model(), data, [cb], epochs=3)  # 4 batches/epoch: saves after batches 6 and 12
    assert capsys.readouterr().out == (
        f"Epoch 2: saving model to {os.path.join(tmp_path, 'cp-2.ckpt')}\n"
        f"Epoch 3: saving model to {os.path.join(tmp_path, 'cp-3.ckpt')}\n")


def test_save_best_only_with_batch_frequency_monitors_batch_logs(tmp_path, make_model, data):
    path = os.path.join(tmp_path, "b{batch}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                         save_weights_only=True, save_freq=2)
    fit(make_model(), data, [cb], epochs=1)
    assert cb.best < np.inf
    assert latest_checkpoint(str(tmp_path)) is not None


@pytest.mark.parametrize("bad", ["weekly", 0, -3, 2.5])
def test_bad_save_freq_is_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match=rf"Unrecognized save_freq: {bad!r}\. Expected "
                                          r"save_freq to be 'epoch' or a positive integer"):
        keras.callbacks.ModelCheckpoint(os.path.join(tmp_path, "x"), save_freq=bad)


@pytest.mark.parametrize("bad", [0, -1, "3"])
def test_bad_max_to_keep_is_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match=rf"max_to_keep to be a positive int or None\. "
                                          rf"Received {bad!r}"):
        keras.callbacks.ModelCheckpoint(os.path.join(tmp_path, "x"), max_to_keep=bad)


def test_unexpected_keyword_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unexpected keyword argument\(s\) \['colour'\]"):
        keras.callbacks.ModelCheckpoint(os.path.join(tmp_path, "x"), colour="red")


def test_max_to_keep_deletes_older_checkpoints(tmp_path, make_model, data):
    pattern = os.path.join(tmp_path, "cp-{epoch}.ckpt")
    cb = keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, max_to_keep=2)
    fit(make_model(), data, [cb], epochs=4)
    assert sorted(os.listdir(tmp_path)) == [
        "checkpoint", "cp-3.ckpt.data-00000-of-00001", "cp-3.ckpt.index",
        "cp-4.ckpt.data-00000-of-00001", "cp-4.ckpt.index"]


def test_same_path_every_epoch_keeps_the_latest_weights(tmp_path, make_model, data):
    path = os.path.join(tmp_path, "cp.ckpt")
    model = make_model()
    fit(model, data, [keras.callbacks.ModelCheckpoint(path, save_weights_only=True)], epochs=2)
    fresh = make_model()
    fresh.load_weights(path)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        assert np.array_equal(a, b)


def test_whole_model_calls_model_save(tmp_path, make_model, data, monkeypatch):
    calls = []
    monkeypatch.setattr(keras.Model, "save",
                        lambda self, path, overwrite=True, **kw: calls.append((path, overwrite)),
                        raising=False)
    pattern = os.path.join(tmp_path, "m-{epoch}.keras")
    fit(make_model(), data, [keras.callbacks.ModelCheckpoint(pattern)], epochs=2)
    assert calls == [(os.path.join(tmp_path, "m-1.keras"), True),
                     (os.path.join(tmp_path, "m-2.keras"), True)]
