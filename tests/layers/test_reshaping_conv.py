"""ZeroPadding, Cropping and UpSampling in 1-D/2-D/3-D: argument forms, channels_first,
symbolic shapes and errors (numerics against tf-keras: test_conv_goldens.py)."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import (Cropping1D, Cropping2D, Cropping3D, Input, UpSampling1D,
                              UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D,
                              ZeroPadding3D)

LAYERS = [(ZeroPadding2D, dict(padding=((1, 0), (2, 3))), (3, 3, 2)),
          (ZeroPadding3D, dict(padding=(1, 2, 0)), (2, 2, 2, 1)),
          (Cropping2D, dict(cropping=((1, 0), (0, 2))), (4, 5, 2)),
          (Cropping3D, dict(cropping=1), (3, 3, 4, 1)),
          (UpSampling2D, dict(size=(2, 3)), (3, 2, 2)),
          (UpSampling2D, dict(size=2, interpolation="bilinear"), (3, 2, 2)),
          (UpSampling3D, dict(size=(2, 1, 3)), (2, 2, 2, 1))]


@pytest.mark.parametrize("cls,kwargs,shape", LAYERS, ids=[c.__name__ for c, _, _ in LAYERS])
def test_channels_first_symbolic_and_config(cls, kwargs, shape, rng, roundtrip):
    x = rng.normal(size=(2,) + shape).astype("float32")
    last = cls(**kwargs)(x)
    first = cls(**kwargs, data_format="channels_first")(np.moveaxis(x, -1, 1))
    torch.testing.assert_close(torch.movedim(first, 1, -1), last)
    assert cls(**kwargs)(Input(shape)).shape == (None,) + tuple(last.shape[1:])
    roundtrip(cls(**kwargs), x)


def test_1d_layers_and_their_keras2_configs(rng, roundtrip):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    assert ZeroPadding1D(2)(x).shape == (2, 10, 3)
    assert Cropping1D()(x).shape == (2, 4, 3)
    np.testing.assert_array_equal(UpSampling1D(2)(x).numpy(), np.repeat(x, 2, axis=1))
    for layer in (ZeroPadding1D((1, 2)), Cropping1D((0, 2)), UpSampling1D(3)):
        roundtrip(layer, x)
        assert "data_format" not in layer.get_config()  # tf.keras 2's 1-D layers take none
    assert ZeroPadding1D((1, 2)).get_config()["padding"] == (1, 2)
    assert Cropping1D((0, 2)).get_config()["cropping"] == (0, 2)
    assert UpSampling1D(3).get_config()["size"] == 3
    assert ZeroPadding1D(1)(Input((None, 3))).shape == (None, None, 3)


def test_argument_forms():
    assert ZeroPadding2D(1).padding == ((1, 1), (1, 1))
    assert ZeroPadding2D((1, 2)).padding == ((1, 1), (2, 2))
    assert ZeroPadding3D(((1, 0), (0, 1), (2, 2))).padding == ((1, 0), (0, 1), (2, 2))
    assert Cropping2D([[1, 0], [0, 1]]).cropping == ((1, 0), (0, 1))  # JSON lists
    assert UpSampling3D(2).size == (2, 2, 2)


def test_nearest_upsampling_is_an_exact_repeat(rng):
    x = rng.normal(size=(1, 3, 4, 2)).astype("float32")
    out = UpSampling2D((3, 5))(x).numpy()
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 3, axis=1), 5, axis=2))


def test_in_models_and_training(rng):
    model = keras.Sequential([ZeroPadding2D(1, input_shape=(4, 4, 1)),
                              keras.layers.Conv2D(2, 3), UpSampling2D(interpolation="bilinear"),
                              Cropping2D(1), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert model.output_shape == (None, 2)
    assert model.layers[3].output_shape == (None, 6, 6, 2)
    model.compile("adam", "mse")
    model.fit(rng.normal(size=(4, 4, 4, 1)), rng.normal(size=(4, 2)), epochs=1, verbose=0)


@pytest.mark.parametrize("build,message", [
    (lambda: ZeroPadding2D((1, 2, 3)), r"ZeroPadding2D expected `padding` to be an int, a tuple "
                                       r"of 2 ints or a tuple of 2 tuples of 2 ints "
                                       r"\(non-negative, at most 2147483647\). Received: "
                                       r"padding=\(1, 2, 3\)"),
    (lambda: ZeroPadding1D(-1), r"ZeroPadding1D expected `padding` to be an int or a tuple of 2 "
                                r"ints \(non-negative, at most 2147483647\). "
                                r"Received: padding=-1"),
    (lambda: ZeroPadding2D(10 ** 12), r"ZeroPadding2D expected `padding` .* Received: "
                                      r"padding=1000000000000"),
    (lambda: Cropping3D(((1, 0), (1,), (0, 0))), r"Cropping3D expected `cropping`"),
    (lambda: UpSampling2D(interpolation="bicubic"),
     r"UpSampling2D expected `interpolation` to be 'nearest' or 'bilinear' .* Received: "
     r"interpolation='bicubic'"),
    (lambda: UpSampling1D(0), r"UpSampling1D expected `size` to be a positive int"),
    (lambda: Cropping2D(data_format="nhwc"), r"Cropping2D expected `data_format`"),
])
def test_argument_errors(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_input_errors():
    with pytest.raises(ShapeError, match=r"cropping \(\(2, 2\),\) leaves nothing of input shape "
                                         r"\(1, 4, 2\)"):
        Cropping1D((2, 2))(np.ones((1, 4, 2), "float32"))
    with pytest.raises(ShapeError, match=r"leaves nothing of input shape \(None, 2, 5, 1\)"):
        Cropping2D(1)(Input((2, 5, 1)))
    with pytest.raises(ShapeError, match=r"expected ndim=5, found ndim=4"):
        UpSampling3D()(np.ones((1, 2, 2, 2), "float32"))
