"""Regularization layers in training: what they draw and keep (whole channels, noise statistics,
SELU-preserving moments), ActivityRegularization's loss in ``fit``, and their argument errors."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError

L = keras.layers


def test_spatial_dropout_drops_whole_channels():
    torch.manual_seed(0)
    x = torch.ones(64, 5, 7)
    out = L.SpatialDropout1D(0.5)(x, training=True)
    assert torch.all((out == 0).all(dim=1) | (out == 2).all(dim=1))
    out2 = L.SpatialDropout2D(0.5)(torch.ones(8, 3, 3, 4), training=True)
    assert torch.all((out2 == 0).all(dim=(1, 2)) | (out2 == 2).all(dim=(1, 2)))
    out3 = L.SpatialDropout2D(0.5, data_format="channels_first")(torch.ones(8, 4, 3, 3),
                                                                 training=True)
    assert torch.all((out3 == 0).all(dim=(2, 3)) | (out3 == 2).all(dim=(2, 3)))
    out4 = L.SpatialDropout3D(0.5)(torch.ones(4, 2, 2, 2, 6), training=True)
    assert torch.all((out4 == 0).all(dim=(1, 2, 3)) | (out4 == 2).all(dim=(1, 2, 3)))
    assert L.SpatialDropout2D(0.5, data_format="channels_first").get_config()[
        "data_format"] == "channels_first"


def test_noise_statistics():
    torch.manual_seed(0)
    x = torch.zeros(200, 500)
    noise = L.GaussianNoise(0.3)(x, training=True)
    assert abs(noise.std().item() - 0.3) < 0.01 and abs(noise.mean().item()) < 0.01
    drop = L.GaussianDropout(0.2)(torch.ones(200, 500), training=True)
    assert abs(drop.mean().item() - 1) < 0.01 and abs(drop.std().item() - 0.5) < 0.01
    selu = torch.randn(400, 500)
    alpha = L.AlphaDropout(0.2)(selu, training=True)
    assert abs(alpha.mean().item()) < 0.02 and abs(alpha.std().item() - 1) < 0.02
    for layer in (L.GaussianNoise(0.3), L.GaussianDropout(0.2), L.AlphaDropout(0.2)):
        torch.testing.assert_close(layer(selu), selu)


def test_activity_regularization_adds_to_fit_loss():
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    keras.utils.set_random_seed(1)
    plain = keras.Sequential([L.Dense(2, input_shape=(3,), kernel_initializer="ones")])
    keras.utils.set_random_seed(1)
    reg = keras.Sequential([L.Dense(2, input_shape=(3,), kernel_initializer="ones"),
                            L.ActivityRegularization(l1=0.1, l2=0.01)])
    for model in (plain, reg):
        model.compile("sgd", "mse")
    base = plain.evaluate(x, y, verbose=0)
    total = reg.evaluate(x, y, verbose=0)
    # Each sample's activations are [3, 3]: l1 * 6 + l2 * 18 per sample (batch mean).
    assert total == pytest.approx(base + 0.1 * 6 + 0.01 * 18, rel=1e-5)
    history = reg.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


@pytest.mark.parametrize("make, message", [
    (lambda: L.SpatialDropout1D(1.0), r"Dropout expected `rate` in \[0, 1\). Received: 1.0"),
    (lambda: L.SpatialDropout2D(0.1, data_format="nhwc"),
     r"SpatialDropout2D expected data_format 'channels_last' or 'channels_first'. Received: "
     r"data_format='nhwc'"),
    (lambda: L.GaussianNoise(-1), r"GaussianNoise expected `stddev` to be a non-negative "
                                  r"number. Received: stddev=-1"),
    (lambda: L.GaussianDropout(1), r"GaussianDropout expected `rate` to be a float in \[0, 1\). "
                                   r"Received: rate=1"),
    (lambda: L.AlphaDropout(0.1, seed="x"), r"AlphaDropout expected `seed` to be an int or "
                                            r"None. Received: seed='x'"),
    (lambda: L.ActivityRegularization(l1=-1), r"ActivityRegularization expected `l1` to be a "
                                              r"non-negative number. Received: l1=-1"),
])
def test_regularization_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_spatial_dropout_rank_error():
    with pytest.raises(ShapeError, match=r"expected ndim=4, found ndim=3"):
        L.SpatialDropout2D(0.1)(torch.ones(2, 3, 4), training=True)


def test_keras3_spatial_dropout_config():
    assert L.SpatialDropout2D.keras3_config_out(
        {"name": "s", "trainable": True, "rate": 0.1, "noise_shape": None, "seed": None}) == \
        {"name": "s", "rate": 0.1, "seed": None, "data_format": "channels_last"}
