"""Pooling layers against numpy references, with TensorFlow's 'same' semantics."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import (AveragePooling1D, AveragePooling2D, AveragePooling3D,
                              GlobalAveragePooling1D, GlobalAveragePooling2D,
                              GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                              GlobalMaxPooling3D, Input, MaxPooling1D, MaxPooling2D, MaxPooling3D)
from savepoint.serialization import deserialize


def tf_same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def numpy_pool(x, pool, strides, padding, op):
    """NHWC pooling by loops; 'same' windows are clipped to the real cells (TF: padded cells
    never win a max and never count in an average)."""
    (ph, pw), (sh, sw) = pool, strides
    n, h, w, c = x.shape
    if padding == "same":
        (t, _), (l, _) = tf_same_pads(h, ph, sh), tf_same_pads(w, pw, sw)
        oh, ow = -(-h // sh), -(-w // sw)
    else:
        t = l = 0
        oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - t, j * sw - l
            window = x[:, max(r0, 0):r0 + ph, max(c0, 0):c0 + pw, :]
            out[:, i, j, :] = op(window, axis=(1, 2))
    return out


CASES = [((6, 6), (2, 2), None), ((7, 5), (3, 2), (2, 2)), ((5, 7), (2, 3), (1, 2)),
         ((4, 4), (3, 3), (3, 3))]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("size,pool,strides", CASES)
def test_max_pooling_matches_numpy(padding, size, pool, strides, rng):
    x = rng.normal(size=(2,) + size + (3,)).astype("float32")
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    out = layer(x).numpy()
    ref = numpy_pool(x, pool, strides or pool, padding, np.max)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert layer.compute_output_shape((None,) + size + (3,)) == (None,) + ref.shape[1:]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("size,pool,strides", CASES)
def test_average_pooling_matches_numpy(padding, size, pool, strides, rng):
    x = rng.normal(size=(2,) + size + (3,)).astype("float32")
    layer = AveragePooling2D(pool, strides=strides, padding=padding)
    out = layer(x).numpy()
    ref = numpy_pool(x, pool, strides or pool, padding, np.mean)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None,) + size + (3,)) == (None,) + ref.shape[1:]


def test_same_average_excludes_padding_and_max_ignores_it():
    x = -np.ones((1, 3, 3, 1), "float32")
    avg = AveragePooling2D(2, padding="same")(x)[0, :, :, 0].numpy()
    np.testing.assert_array_equal(avg, -np.ones((2, 2)))   # zeros from padding would give -0.5
    mx = MaxPooling2D(2, padding="same")(x)[0, :, :, 0].numpy()
    np.testing.assert_array_equal(mx, -np.ones((2, 2)))    # padding is -inf, never 0


def test_pooling_channels_first(rng):
    x = rng.normal(size=(2, 6, 5, 3)).astype("float32")
    for cls in (MaxPooling2D, AveragePooling2D):
        last = cls(2, padding="same")(x)
        first = cls(2, padding="same", data_format="channels_first")(np.moveaxis(x, -1, 1))
        torch.testing.assert_close(first.permute(0, 2, 3, 1), last)
        assert cls(2, data_format="channels_first").compute_output_shape((None, 3, 6, 5)) == \
            (None, 3, 3, 2)


def test_pooling_in_models_and_no_weights(rng):
    model = keras.Sequential([keras.layers.Conv2D(4, 3, input_shape=(10, 10, 1)),
                              MaxPooling2D(), AveragePooling2D(pool_size=(2, 2), strides=1)])
    assert model.layers[1].name == "max_pooling2d"
    assert model.layers[2].name == "average_pooling2d"
    assert model.layers[1].output_shape == (None, 4, 4, 4)
    assert model.layers[2].output_shape == (None, 3, 3, 4)
    assert model.layers[1].count_params() == 0 and model.layers[1].weights == []
    assert model.predict(rng.normal(size=(2, 10, 10, 1)), verbose=0).shape == (2, 3, 3, 4)
    x = Input((None, None, 2))
    assert MaxPooling2D()(x).shape == (None, None, None, 2)


def test_pooling_config_roundtrip(roundtrip, rng):
    x = rng.normal(size=(1, 5, 5, 2)).astype("float32")
    for cls in (MaxPooling2D, AveragePooling2D):
        layer = cls(pool_size=3, strides=2, padding="same")
        roundtrip(layer, x)
        config = layer.get_config()
        assert config["pool_size"] == (3, 3) and config["strides"] == (2, 2)
        assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert MaxPooling2D().get_config()["strides"] == (2, 2)   # strides default to pool_size


def test_pooling_errors():
    with pytest.raises(ConfigError, match=r"MaxPooling2D expected `padding` to be 'valid' or "
                                          r"'same'. Received: padding='full'"):
        MaxPooling2D(padding="full")
    with pytest.raises(ConfigError, match=r"AveragePooling2D expected `pool_size` to be a "
                                          r"positive int or a tuple of 2 positive ints. "
                                          r"Received: pool_size=0"):
        AveragePooling2D(0)
    with pytest.raises(ShapeError, match=r'layer "max_pooling2d_1" is incompatible with the '
                                         r'layer: expected ndim=4, found ndim=3'):
        MaxPooling2D()(np.ones((1, 4, 4), "float32"))


# ----- global average pooling -------------------------------------------------------------
def test_global_average_pooling_2d(rng, roundtrip):
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")
    np.testing.assert_allclose(GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-6)
    kept = GlobalAveragePooling2D(keepdims=True)(x).numpy()
    np.testing.assert_allclose(kept, x.mean(axis=(1, 2), keepdims=True), rtol=1e-5, atol=1e-6)
    first = GlobalAveragePooling2D(data_format="channels_first")(x).numpy()
    np.testing.assert_allclose(first, x.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    assert GlobalAveragePooling2D().compute_output_shape((None, 4, 5, 3)) == (None, 3)
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 4, 5, 3)) == \
        (None, 1, 1, 3)
    layer = GlobalAveragePooling2D(keepdims=True)
    roundtrip(layer, x)
    assert layer.get_config()["keepdims"] is True


def test_global_average_pooling_1d(rng, roundtrip):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_allclose(GlobalAveragePooling1D()(x).numpy(), x.mean(axis=1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(GlobalAveragePooling1D(keepdims=True)(x).numpy(),
                               x.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(GlobalAveragePooling1D(data_format="channels_first")(x).numpy(),
                               x.mean(axis=2), rtol=1e-5, atol=1e-6)
    mask = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    masked = GlobalAveragePooling1D()(x, mask=mask).numpy()
    np.testing.assert_allclose(masked[0], x[0, :2].mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(masked[1], x[1].mean(axis=0), rtol=1e-5, atol=1e-6)
    roundtrip(GlobalAveragePooling1D(), x)


def test_global_average_pooling_in_models(rng):
    model = keras.Sequential([keras.layers.Conv2D(4, 3, input_shape=(6, 6, 2)),
                              GlobalAveragePooling2D(), keras.layers.Dense(2)])
    assert model.layers[1].output_shape == (None, 4)
    assert model.layers[1].name == "global_average_pooling2d"
    assert model.predict(rng.normal(size=(3, 6, 6, 2)), verbose=0).shape == (3, 2)
    x = Input((7, 3))
    assert GlobalAveragePooling1D()(x).shape == (None, 3)


def test_global_average_pooling_errors():
    with pytest.raises(ShapeError, match=r"expected ndim=3, found ndim=4"):
        GlobalAveragePooling1D()(np.ones((1, 2, 2, 2), "float32"))
    with pytest.raises(ShapeError, match=r"expected ndim=4, found ndim=2"):
        GlobalAveragePooling2D()(np.ones((1, 2), "float32"))
    with pytest.raises(ConfigError, match=r"GlobalAveragePooling2D expected `data_format`"):
        GlobalAveragePooling2D(data_format="nchw")


# ----- 1-D and 3-D pooling, global max pooling (numerics against tf-keras: test_conv_goldens) --
POOLS = [(MaxPooling1D, dict(pool_size=3, strides=2, padding="same"), (8, 2)),
         (AveragePooling1D, dict(pool_size=3, strides=2, padding="same"), (8, 2)),
         (MaxPooling3D, dict(padding="same"), (3, 5, 4, 2)),
         (AveragePooling3D, dict(pool_size=3, strides=2, padding="same"), (5, 4, 3, 2)),
         (GlobalMaxPooling1D, dict(keepdims=True), (5, 3)),
         (GlobalMaxPooling2D, dict(), (4, 3, 2)),
         (GlobalAveragePooling3D, dict(keepdims=True), (3, 3, 2, 2)),
         (GlobalMaxPooling3D, dict(), (3, 3, 2, 2))]


@pytest.mark.parametrize("cls,kwargs,shape", POOLS, ids=[c.__name__ for c, _, _ in POOLS])
def test_nd_pooling_channels_first_shapes_and_configs(cls, kwargs, shape, rng, roundtrip):
    x = rng.normal(size=(2,) + shape).astype("float32")
    last = cls(**kwargs)(x)
    first = cls(**kwargs, data_format="channels_first")(np.moveaxis(x, -1, 1))
    if first.dim() == last.dim() and first.dim() > 2:
        first = torch.movedim(first, 1, -1)
    torch.testing.assert_close(first, last)
    inputs = Input(shape)
    assert cls(**kwargs)(inputs).shape == (None,) + tuple(last.shape[1:])
    roundtrip(cls(**kwargs), x)


def test_average_pooling_same_count_is_cached_per_shape():
    layer = AveragePooling1D(3, strides=2, padding="same")
    layer(np.ones((1, 8, 1), "float32"))
    first = next(iter(layer._scale_cache.values()))
    layer(np.ones((2, 8, 1), "float32"))           # same spatial shape: same tensor reused
    assert next(iter(layer._scale_cache.values())) is first
    out = layer(np.ones((1, 5, 1), "float32"))     # a new shape replaces it
    np.testing.assert_array_equal(out.numpy(), np.ones((1, 3, 1)))


@pytest.mark.parametrize("alias,name", [("MaxPool1D", "MaxPooling1D"),
                                        ("MaxPool3D", "MaxPooling3D"),
                                        ("AvgPool1D", "AveragePooling1D"),
                                        ("AvgPool3D", "AveragePooling3D"),
                                        ("GlobalMaxPool1D", "GlobalMaxPooling1D"),
                                        ("GlobalAvgPool3D", "GlobalAveragePooling3D")])
def test_pooling_aliases(alias, name):
    assert getattr(keras.layers, alias) is getattr(keras.layers, name)
    assert type(deserialize({"class_name": alias, "config": {}}, "layers")).__name__ == name


def test_nd_pooling_errors():
    with pytest.raises(ConfigError, match=r"MaxPooling3D expected `pool_size` to be a positive "
                                          r"int or a tuple of 3 positive ints. Received: "
                                          r"pool_size=\(2, 2\)"):
        MaxPooling3D((2, 2))
    with pytest.raises(ConfigError, match=r"AveragePooling1D expected `strides` to be a "
                                          r"positive int"):
        AveragePooling1D(2, strides=0)
    with pytest.raises(ShapeError, match=r"expected ndim=5, found ndim=4"):
        GlobalMaxPooling3D()(np.ones((1, 2, 2, 2), "float32"))
