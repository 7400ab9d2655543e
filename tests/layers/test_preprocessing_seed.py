"""``seed=`` on the random preprocessing layers: a seeded layer repeats its augmentation sequence
in every fresh layer or model (tf.keras's behaviour; TensorFlow's own numbers are not
reproduced), different seeds differ, the seed survives configs and saving, unseeded layers
follow torch's global generator, and ``BackupAndRestore`` resumes seeded augmentations exactly."""

import doctest

import numpy as np
import pytest
import torch

import savepoint as keras
import savepoint.layers.preprocessing as pp
from savepoint.errors import ConfigError, FormatError
from savepoint.utils import rng, set_random_seed

IMG = np.random.default_rng(0).random((8, 6, 8, 3)).astype("float32") * 255

FACTORIES = {
    "RandomFlip": lambda seed: pp.RandomFlip(seed=seed),
    "RandomRotation": lambda seed: pp.RandomRotation(0.3, seed=seed),
    "RandomZoom": lambda seed: pp.RandomZoom(0.3, 0.2, seed=seed),
    "RandomTranslation": lambda seed: pp.RandomTranslation(0.3, 0.3, seed=seed),
    "RandomContrast": lambda seed: pp.RandomContrast(0.5, seed=seed),
    "RandomCrop": lambda seed: pp.RandomCrop(3, 4, seed=seed),
}


def _calls(layer, n=4):
    return [layer(IMG, training=True).detach().numpy() for _ in range(n)]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_same_seed_repeats_the_sequence_in_a_fresh_layer(name):
    torch.manual_seed(0)
    first = _calls(FACTORIES[name](11))
    torch.manual_seed(123)  # the global generator does not matter to a seeded layer
    second = _calls(FACTORIES[name](11))
    assert _same(first, second)
    # the sequence moves on from call to call, as tf.keras's seeded generators do
    assert not all(np.array_equal(first[0], x) for x in first[1:])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_different_seeds_differ(name):
    assert not _same(_calls(FACTORIES[name](1)), _calls(FACTORIES[name](2)))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_seeded_layers_leave_the_global_generator_alone(name):
    layer = FACTORIES[name](5)
    state = torch.get_rng_state()
    _calls(layer, 2)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_unseeded_layers_follow_the_global_generator(name):
    set_random_seed(4)
    first = _calls(FACTORIES[name](None))
    set_random_seed(4)
    second = _calls(FACTORIES[name](None))
    assert _same(first, second)
    assert not _same(first, _calls(FACTORIES[name](None)))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_seed_is_in_the_config_and_from_config_repeats(name):
    layer = FACTORIES[name](21)
    config = layer.get_config()
    assert config["seed"] == 21
    assert _same(_calls(type(layer).from_config(config)), _calls(FACTORIES[name](21)))


def _model():
    return keras.Sequential([keras.Input((6, 8, 3)), pp.RandomFlip(seed=1),
                             pp.RandomRotation(0.2, seed=2), pp.RandomZoom(0.2, seed=3),
                             pp.RandomTranslation(0.1, 0.1, seed=4), pp.RandomContrast(0.3, seed=5),
                             pp.RandomCrop(4, 4, seed=6)])


def test_two_fresh_models_augment_identically():
    a, b = _model(), _model()
    for _ in range(3):
        np.testing.assert_array_equal(a(IMG, training=True).detach().numpy(),
                                      b(IMG, training=True).detach().numpy())


@pytest.mark.parametrize("suffix", [".h5", ".keras", ""])
def test_a_reloaded_model_augments_as_a_fresh_one(tmp_path, suffix):
    path = str(tmp_path / f"m{suffix}")
    _model().save(path)
    loaded = keras.models.load_model(path)
    fresh = _model()
    assert [layer.seed for layer in loaded.layers] == [1, 2, 3, 4, 5, 6]
    for _ in range(2):
        np.testing.assert_array_equal(loaded(IMG, training=True).detach().numpy(),
                                      fresh(IMG, training=True).detach().numpy())


def test_seeded_draws_do_not_depend_on_the_device_generator():
    # seeded draws come from a CPU generator: the same numbers whatever the images' device
    layer = pp.RandomRotation(0.3, seed=9)
    expected = _calls(pp.RandomRotation(0.3, seed=9), 1)[0]
    np.testing.assert_array_equal(layer(torch.from_numpy(IMG), training=True).numpy(), expected)


@pytest.mark.parametrize("seed", ["1", 1.5, True])
def test_a_seed_that_is_not_an_int_is_refused(seed):
    with pytest.raises(ConfigError, match=r"RandomFlip expected `seed` to be an int or None\. "
                                          r"Received: seed=.*Fix: pass an int"):
        pp.RandomFlip(seed=seed)
    with pytest.raises(ConfigError, match=r"RandomZoom expected `seed` to be an int or None"):
        pp.RandomZoom(0.1, seed=seed)


def test_layer_generators_capture_and_restore():
    model = _model()
    state = rng.capture_layers(model)
    first = model(IMG, training=True).detach().numpy()
    rng.restore_layers(model, state)
    np.testing.assert_array_equal(model(IMG, training=True).detach().numpy(), first)


def test_restoring_layer_generators_checks_everything_first():
    model = _model()
    state = rng.capture_layers(model)
    before = rng.capture_layers(model)
    bad = dict(state)
    bad[sorted(bad)[-1]] = np.zeros(3, np.uint8)
    with pytest.raises(FormatError, match=r"expected uint8 \(5056,\), received uint8 \(3,\)"):
        rng.restore_layers(model, bad)
    after = rng.capture_layers(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_backup_without_layer_generators_resumes_with_a_warning():
    model = _model()
    state = rng.capture_layers(model)
    model(IMG, training=True)
    moved = rng.capture_layers(model)
    missing = dict(state)
    missing.pop("_stack/0")
    with pytest.warns(UserWarning, match=r"no random generator state for the seeded layer "
                                         r"'_stack/0'; it keeps its current state"):
        rng.restore_layers(model, missing)
    after = rng.capture_layers(model)
    np.testing.assert_array_equal(after["_stack/0"], moved["_stack/0"])
    np.testing.assert_array_equal(after["_stack/1"], state["_stack/1"])


def test_fit_with_seeded_augmentations_resumes_bit_for_bit(tmp_path):
    def build():
        set_random_seed(1)
        model = keras.Sequential([keras.Input((6, 8, 3)), pp.RandomFlip(seed=3),
                                  pp.RandomRotation(0.1, seed=4), keras.layers.Flatten(),
                                  keras.layers.Dense(2)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model
    y = np.arange(8) % 2
    straight = build()
    straight.fit(IMG, y, epochs=3, batch_size=2, verbose=0)

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        build().fit(IMG, y, epochs=3, batch_size=2, verbose=0,
                    callbacks=[keras.callbacks.BackupAndRestore(backup), Stop()])
    resumed = build()
    resumed.fit(IMG, y, epochs=3, batch_size=2, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(backup)])
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_rng_docstring_examples():
    result = doctest.testmod(rng, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
