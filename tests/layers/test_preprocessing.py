"""Preprocessing layers' behaviour beyond the goldens: argument errors, adapt sources, the
training path of the random layers (structure and statistics), identity at inference, and
augmentations that repeat exactly under the checkpointed global generators."""

import doctest

import numpy as np
import pytest
import torch

import savepoint as keras
import savepoint.layers.preprocessing as pp
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.preprocessing import (_utils, category_encoding, center_crop, image_transform,
                                            normalization, random_affine, random_image,
                                            rescaling, resizing)
from savepoint.utils import rng, set_random_seed

IMG = np.random.default_rng(0).random((16, 6, 8, 3)).astype("float32")
RANDOM = [pp.RandomFlip(), pp.RandomRotation(0.2), pp.RandomZoom(0.3, 0.2),
          pp.RandomTranslation(0.2, 0.3), pp.RandomContrast(0.5)]


@pytest.mark.parametrize("module", [_utils, category_encoding, center_crop, image_transform,
                                    normalization, random_affine, random_image, rescaling,
                                    resizing, pp.discretization, pp.index_lookup,
                                    pp.text_vectorization])
def test_docstring_examples(module):
    globs = {"np": np, "torch": torch}
    result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# ----- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: pp.Rescaling("x"), r"Rescaling expected `scale` to be a number.*Received: scale='x'"),
    (lambda: pp.Normalization(mean=[1.0]), r"expected both `mean` and `variance`"),
    (lambda: pp.Normalization(axis="a"), r"`axis` to be None, an int or a tuple.*axis='a'"),
    (lambda: pp.Resizing(0, 3), r"Resizing expected `height` to be a positive int.*height=0"),
    (lambda: pp.Resizing(2, 3, "lanczos3"), r"`interpolation` to be one of \['bilinear'"),
    (lambda: pp.Resizing(2, 3, pad_to_aspect_ratio=True), r"`pad_to_aspect_ratio`"),
    (lambda: pp.CenterCrop(2, 3, data_format="channels_first"), r"'channels_last'.*Fix"),
    (lambda: pp.RandomFlip("diagonal"), r"`mode` to be one of \['horizontal'"),
    (lambda: pp.RandomRotation((0.3, 0.1)), r"lower <= upper.*Fix: swap"),
    (lambda: pp.RandomRotation(0.1, fill_mode="mirror"), r"`fill_mode` to be one of"),
    (lambda: pp.RandomRotation(0.1, interpolation="bicubic"), r"`interpolation` to be one of"),
    (lambda: pp.RandomRotation("big"), r"`factor` to be a float or a pair"),
    (lambda: pp.RandomZoom(1.5), r"`height_factor` values in \[-1.0, 1.0\]"),
    (lambda: pp.RandomTranslation(0.1, (-2.0, 0.0)), r"`width_factor` values in"),
    (lambda: pp.RandomContrast(1.5), r"lower bound <= 1.*factor=1.5"),
    (lambda: pp.RandomContrast(0.2, value_range=(0, 1)), r"`value_range` \(0, 255\)"),
    (lambda: pp.RandomFlip(rng_type="philox"), r"`rng_type` to be one of"),
    (lambda: pp.RandomCrop(2, -1), r"RandomCrop expected `width` to be a positive int"),
    (lambda: pp.CategoryEncoding(), r"expected `num_tokens`.*num_tokens=None"),
    (lambda: pp.CategoryEncoding(3, "tf_idf"), r"`output_mode` to be one of"),
    (lambda: pp.CategoryEncoding(3, sparse=True), r"`sparse` to be one of \[False\]"),
    (lambda: pp.Discretization(), r"`bin_boundaries` or `num_bins` \(then call adapt\(\)\)"),
    (lambda: pp.Discretization([0.0], num_bins=4), r"or num_bins - 1 boundaries"),
    (lambda: pp.Discretization(num_bins=0), r"`num_bins` to be a positive int"),
    (lambda: pp.Discretization([1.0, 0.0]), r"increasing order"),
])
def test_bad_arguments_raise_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_call_time_errors():
    with pytest.raises(ShapeError, match=r"images of rank 3 \(H, W, C\) or 4"):
        pp.CenterCrop(2, 2)(np.ones((2, 3), "float32"))
    with pytest.raises(ConfigError, match=r"0 <= values < num_tokens with num_tokens=3"):
        pp.CategoryEncoding(3)(np.array([[0, 3]]))
    with pytest.raises(ConfigError, match=r"`count_weights` only with output_mode='count'"):
        pp.CategoryEncoding(3)(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ShapeError, match=r"maximum supported output rank is 2"):
        pp.CategoryEncoding(3, "one_hot")(np.array([[0, 1]]))
    norm = pp.Normalization(mean=[0.0], variance=[1.0])
    with pytest.raises(ConfigError, match=r"was given `mean` and `variance`, so it cannot adapt"):
        norm.adapt(np.ones((2, 1)))
    with pytest.raises(ConfigError, match=r"received no data to adapt on"):
        pp.Normalization().adapt(iter([]))
    with pytest.raises(ShapeError, match=r"expected ndim=2, found ndim=3"):
        layer = pp.Normalization()
        layer.adapt(np.ones((4, 2)))
        layer(np.ones((1, 2, 2), "float32"))


# ----- adapt ------------------------------------------------------------------------------------
def test_normalization_adapts_from_arrays_batches_generators_and_dataloaders():
    data = np.random.default_rng(3).normal(4.0, 2.0, (50, 3)).astype("float32")
    whole = pp.Normalization()
    whole.adapt(data)
    mean, var, count = whole.get_weights()
    np.testing.assert_allclose(mean, data.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(var, data.astype(np.float64).var(0), rtol=1e-5)
    assert count == 50 and count.dtype == np.int64
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(data), torch.zeros(50)), batch_size=7)
    for source, kwargs in ((data, {"batch_size": 8}), (iter([data[:20], data[20:]]), {}),
                           (((data[i:i + 9], None) for i in range(0, 50, 9)), {}),
                           (loader, {})):
        layer = pp.Normalization()
        layer.adapt(source, **kwargs)
        for a, b in zip(layer.get_weights(), whole.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5)
    partial = pp.Normalization()
    partial.adapt(data, batch_size=10, steps=2)
    assert int(partial.count.item()) == 20
    out = whole(data).numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1.0, rtol=1e-4)


def test_normalization_readapts_and_inverts():
    layer = pp.Normalization(axis=None)
    layer.adapt(np.array([1.0, 3.0], "float32").reshape(2, 1))
    layer.adapt(np.array([10.0, 14.0], "float32").reshape(2, 1))  # replaces, as in Keras
    assert layer.get_weights()[0] == 12.0 and layer.get_weights()[1] == 4.0
    inv = pp.Normalization(mean=12.0, variance=4.0, invert=True)
    back = inv(layer(np.array([[11.0]], "float32")))
    np.testing.assert_allclose(back.numpy(), [[11.0]])


# ----- random layers: inference ----------------------------------------------------------------
@pytest.mark.parametrize("layer", RANDOM, ids=lambda l: type(l).__name__)
def test_random_layers_are_identity_at_inference(layer):
    x = torch.from_numpy(IMG)
    assert layer(x) is x and layer(x, training=False) is x
    model = keras.Sequential([keras.Input((6, 8, 3)), type(layer).from_config(layer.get_config())])
    np.testing.assert_array_equal(model.predict(IMG, verbose=0), IMG)


# ----- random layers: training path --------------------------------------------------------------
def test_random_flip_flips_about_half_of_the_images():
    set_random_seed(0)
    x = torch.from_numpy(np.random.default_rng(1).random((400, 3, 4, 1)).astype("float32"))
    y = pp.RandomFlip("horizontal")(x, training=True)
    flipped = (y == x.flip(2)).flatten(1).all(1)
    same = (y == x).flatten(1).all(1)
    assert bool((flipped | same).all()) and 150 < int(flipped.sum()) < 250
    both = pp.RandomFlip()(x, training=True)
    kinds = [(both[i] == v).all().item() for i in range(400)
             for v in (x[i], x[i].flip(1), x[i].flip(0), x[i].flip(0).flip(1))]
    assert sum(kinds) >= 400


def test_random_rotation_of_half_a_turn_reverses_the_image():
    x = torch.from_numpy(IMG)
    out = pp.RandomRotation((0.5, 0.5), interpolation="nearest")(x, training=True)
    np.testing.assert_allclose(out.numpy(), x.flip(1).flip(2).numpy(), atol=1e-6)


def test_random_rotation_draws_angles_in_range():
    x = torch.zeros(64, 9, 9, 1)
    x[:, 4, 8, 0] = 1.0  # a dot right of the center
    out = pp.RandomRotation((0.0, 0.25), fill_mode="constant", interpolation="nearest")(
        x, training=True)
    ys, xs = torch.nonzero(out[..., 0] > 0.5, as_tuple=True)[1:]
    angles = torch.atan2(4.0 - ys.float(), xs.float() - 4.0)  # counter-clockwise, image y down
    assert bool(((angles >= -0.2) & (angles <= np.pi / 2 + 0.2)).all())
    assert float(angles.max() - angles.min()) > 0.6  # spread over the range, not one angle


def test_random_zoom_and_translation_move_content_as_drawn():
    x = torch.from_numpy(IMG)
    shifted = pp.RandomTranslation((0.5, 0.5), (0.0, 0.0), fill_mode="constant",
                                   interpolation="nearest")(x, training=True)
    np.testing.assert_array_equal(shifted[:, 3:].numpy(), x[:, :3].numpy())
    assert float(shifted[:, :3].abs().max()) == 0.0
    zoomed = pp.RandomZoom((0.0, 0.0))(x, training=True)
    np.testing.assert_allclose(zoomed.numpy(), x.numpy(), atol=1e-6)
    wide = pp.RandomZoom((0.5, 0.5), fill_mode="constant")(x, training=True)
    assert float(wide[:, 0].abs().max()) == 0.0  # zoomed out: borders filled
    assert wide.shape == x.shape


def test_random_contrast_keeps_channel_means_and_draws_factors_in_range():
    x = torch.from_numpy(IMG) * 100 + 50
    factors = []
    for _ in range(40):
        y = pp.RandomContrast((0.3, 0.6))(x, training=True)
        np.testing.assert_allclose(y.mean(dim=(1, 2)).numpy(), x.mean(dim=(1, 2)).numpy(),
                                   rtol=1e-4)
        dev = (x - x.mean(dim=(1, 2), keepdim=True))
        factors.append(float(((y - y.mean(dim=(1, 2), keepdim=True)) / dev)[0, 0, 0, 0]))
    assert 0.7 - 1e-4 <= min(factors) and max(factors) <= 1.6 + 1e-4
    assert max(factors) - min(factors) > 0.3
    assert float(pp.RandomContrast(0.9)(x * 3, training=True).max()) <= 255.0


def test_random_crop_takes_one_window_in_training_and_resizes_at_inference():
    x = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(2, 6, 8, 1)
    layer = pp.RandomCrop(3, 4)
    starts = set()
    for _ in range(30):
        y = layer(x, training=True)
        top, left = int(y[0, 0, 0, 0]) // 8, int(y[0, 0, 0, 0]) % 8
        np.testing.assert_array_equal(y.numpy(), x[:, top:top + 3, left:left + 4].numpy())
        starts.add((top, left))
    assert len(starts) > 5
    np.testing.assert_array_equal(layer(x).numpy(),
                                  resizing.smart_resize(x, (3, 4)).numpy())


def test_unbatched_images_keep_their_rank():
    img = torch.from_numpy(IMG[0])
    assert pp.Resizing(3, 4)(img).shape == (3, 4, 3)
    assert pp.CenterCrop(2, 2)(img).shape == (2, 2, 3)
    assert pp.RandomRotation(0.1)(img, training=True).shape == (6, 8, 3)
    assert pp.RandomFlip()(img, training=True).shape == (6, 8, 3)


# ----- exact repetition -------------------------------------------------------------------------
def test_augmentations_repeat_exactly_from_captured_generator_state():
    model = keras.Sequential([keras.Input((6, 8, 3)), pp.RandomFlip(), pp.RandomRotation(0.2),
                              pp.RandomZoom(0.2), pp.RandomTranslation(0.1, 0.1),
                              pp.RandomContrast(0.3), pp.RandomCrop(4, 4)])
    set_random_seed(5)
    first = model(IMG, training=True)
    state = rng.capture()
    second = model(IMG, training=True)
    rng.restore(state)
    again = model(IMG, training=True)
    torch.testing.assert_close(again, second, rtol=0, atol=0)
    set_random_seed(5)
    torch.testing.assert_close(model(IMG, training=True), first, rtol=0, atol=0)


def test_fit_augments_and_resumes_bit_for_bit(tmp_path):
    def build():
        set_random_seed(1)
        model = keras.Sequential([keras.Input((6, 8, 3)), pp.RandomFlip(), pp.RandomRotation(0.1),
                                  keras.layers.Flatten(), keras.layers.Dense(2)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model
    y = np.arange(16) % 2
    straight = build()
    straight.fit(IMG, y, epochs=3, batch_size=4, verbose=0)
    backup = str(tmp_path / "backup")

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt
    interrupted = build()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(IMG, y, epochs=3, batch_size=4, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup), Stop()])
    resumed = build()
    resumed.fit(IMG, y, epochs=3, batch_size=4, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(backup)])
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
