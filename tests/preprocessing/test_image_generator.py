"""ImageDataGenerator against REAL tf-keras (tools/make_image_generator_goldens.py): fit
statistics, standardize, and the seeded, shuffled, flipped batches of flow (next() and by
index), validation split and sample weights; fit trains on it; unfit statistics refused."""

import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError
from savepoint.preprocessing.image import ImageDataGenerator

G = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "utils",
                         "image_generator.npz"))


def generator():
    return ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                              samplewise_center=True, rescale=1 / 255.0, horizontal_flip=True,
                              vertical_flip=True, validation_split=0.3)


def test_matches_tf_keras():
    gen = generator()
    gen.fit(G["x"])
    np.testing.assert_allclose(gen.mean, G["mean"], rtol=1e-6)
    np.testing.assert_allclose(gen.std, G["std"], rtol=1e-6)
    np.testing.assert_allclose(gen.standardize(np.copy(G["x"][0])), G["standardized"],
                               rtol=1e-5, atol=1e-6)
    it = gen.flow(G["x"], G["y"], batch_size=2, shuffle=True, seed=11, subset="training")
    for k in range(4):
        bx, by = next(it)
        np.testing.assert_array_equal(by, G[f"next{k}_y"])
        np.testing.assert_allclose(bx, G[f"next{k}_x"], rtol=1e-5, atol=1e-6)
    it = gen.flow(G["x"], G["y"], batch_size=3, shuffle=True, seed=4)
    for k in range(len(it)):
        bx, by = it[k]
        np.testing.assert_array_equal(by, G[f"item{k}_y"])
        np.testing.assert_allclose(bx, G[f"item{k}_x"], rtol=1e-5, atol=1e-6)
    val = gen.flow(G["x"], G["y"], batch_size=5, shuffle=False, subset="validation")
    np.testing.assert_array_equal(val[0][1], G["val_y"])
    sw = ImageDataGenerator(samplewise_std_normalization=True).flow(
        G["x"], G["y"], batch_size=7, shuffle=False, sample_weight=np.linspace(0.1, 0.7, 7))[0]
    np.testing.assert_allclose(sw[0], G["sw_x"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sw[2], G["sw_w"])


def test_fit_trains_on_flow():
    x = np.random.default_rng(0).uniform(0, 255, (8, 4, 4, 3)).astype("float32")
    y = np.arange(8) % 2
    model = keras.Sequential([keras.layers.Flatten(input_shape=(4, 4, 3)),
                              keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    gen = ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True)
    history = model.fit(gen.flow(x, y, batch_size=4, seed=1), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_errors():
    zca = ImageDataGenerator(zca_whitening=True)
    zca.mean = np.zeros((1, 1, 1))  # centering is fit; the whitening matrix is not
    with pytest.raises(ConfigError, match=r"specifies `zca_whitening`, but it hasn't been fit "
                                          r"on any training data"):
        zca.standardize(np.ones((1, 1, 1)))
    with pytest.raises(ConfigError, match="hasn't been fit on any training data"):
        ImageDataGenerator(featurewise_center=True).standardize(np.ones((1, 1, 1)))
    with pytest.raises(ConfigError, match="Training and validation subsets have different "
                                          "number of classes"):
        ImageDataGenerator(validation_split=0.5).flow(np.zeros((4, 1, 1, 1)), [0, 0, 1, 1],
                                                      subset="training")
