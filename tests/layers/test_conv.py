"""Conv2D against a direct numpy convolution, with TensorFlow's 'same' padding."""

import math

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import Conv2D, Input
from savepoint.layers.convolutional.conv_utils import same_padding


def tf_same_pads(size, k, s, d=1):
    """TF's rule, written out independently: total padding split with the extra after."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def numpy_conv(x, kernel, bias, strides, padding, dilation=(1, 1), groups=1):
    """NHWC convolution by explicit loops over output positions (einsum per patch)."""
    kh, kw, cin_g, cout = kernel.shape
    sh, sw = strides
    dh, dw = dilation
    if padding == "same":
        (t, b), (l, r) = (tf_same_pads(x.shape[1], kh, sh, dh),
                          tf_same_pads(x.shape[2], kw, sw, dw))
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    oh, ow = (x.shape[1] - eh) // sh + 1, (x.shape[2] - ew) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, cout), np.float64)
    per_group = cout // groups
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw, :]
            for g in range(groups):
                p = patch[..., g * cin_g:(g + 1) * cin_g]
                k = kernel[..., g * per_group:(g + 1) * per_group]
                out[:, i, j, g * per_group:(g + 1) * per_group] = np.einsum("nhwc,hwco->no", p, k)
    return out + (bias if bias is not None else 0)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("size,kernel,strides", [
    ((7, 7), (3, 3), (1, 1)), ((7, 8), (3, 2), (2, 2)), ((6, 5), (2, 3), (2, 1)),
    ((5, 5), (4, 4), (3, 3)),
])
def test_conv2d_matches_numpy(padding, size, kernel, strides, rng):
    x = rng.normal(size=(2,) + size + (3,)).astype("float32")
    layer = Conv2D(4, kernel, strides=strides, padding=padding,
                   bias_initializer="random_normal")
    out = layer(x).detach().numpy()
    k, b = layer.get_weights()
    ref = numpy_conv(x.astype(np.float64), k, b, strides, padding)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    assert layer.compute_output_shape((None,) + size + (3,)) == (None,) + ref.shape[1:]


def test_tf_same_padding_puts_extra_at_bottom_right():
    assert same_padding(5, 2, 1) == (0, 1) == tf_same_pads(5, 2, 1)
    assert same_padding(7, 4, 2) == (1, 2) == tf_same_pads(7, 4, 2)
    assert same_padding(6, 1, 2) == (0, 0)
    for size in range(1, 12):
        for k in range(1, 5):
            for s in range(1, 4):
                assert same_padding(size, k, s) == tf_same_pads(size, k, s)


def test_conv2d_same_asymmetric_padding_exact():
    # 4x4 ones, 2x2 kernel of ones, stride 1, 'same': TF pads one row/column at bottom/right,
    # so the last row and column sum over fewer cells.
    layer = Conv2D(1, 2, padding="same", kernel_initializer="ones", use_bias=False)
    out = layer(np.ones((1, 4, 4, 1), "float32"))[0, :, :, 0].detach().numpy()
    expected = np.array([[4, 4, 4, 2], [4, 4, 4, 2], [4, 4, 4, 2], [2, 2, 2, 1]], "float32")
    np.testing.assert_array_equal(out, expected)


def test_conv2d_dilation_and_groups_match_numpy(rng):
    x = rng.normal(size=(1, 9, 9, 4)).astype("float32")
    for padding in ("valid", "same"):
        layer = Conv2D(6, 3, dilation_rate=2, groups=2, padding=padding, activation="relu")
        out = layer(x).detach().numpy()
        k, b = layer.get_weights()
        assert k.shape == (3, 3, 2, 6)
        ref = np.maximum(numpy_conv(x.astype(np.float64), k, b, (1, 1), padding, (2, 2), 2), 0)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_conv2d_channels_first_matches_channels_last(rng):
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    last = Conv2D(4, 3, strides=2, padding="same")
    first = Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    out_last = last(x)
    first(np.moveaxis(x, -1, 1))
    first.set_weights(last.get_weights())
    assert first.kernel.shape == (3, 3, 3, 4)
    out_first = first(np.moveaxis(x, -1, 1))
    torch.testing.assert_close(out_first.permute(0, 2, 3, 1), out_last, rtol=1e-5, atol=1e-5)
    assert first.compute_output_shape((None, 3, 6, 6)) == (None, 4, 3, 3)


def test_conv2d_weights_params_and_names():
    model = keras.Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
                              Conv2D(64, (3, 3))])
    first, second = model.layers
    assert first.name == "conv2d" and second.name == "conv2d_1"
    assert [(w.name, w.shape) for w in first.weights] == [("kernel", (3, 3, 1, 32)),
                                                          ("bias", (32,))]
    assert first.count_params() == 320
    assert second.count_params() == 3 * 3 * 32 * 64 + 64
    assert first.output_shape == (None, 26, 26, 32) and second.output_shape == (None, 24, 24, 64)
    assert Conv2D(2, 3, use_bias=False).compute_output_shape((None, None, 5, 1)) == \
        (None, None, 3, 2)


def test_conv2d_functional_and_torch_input(rng):
    x = Input((8, 8, 3))
    y = Conv2D(5, 3, strides=2, padding="same")(x)
    assert y.shape == (None, 4, 4, 5)
    model = keras.Model(x, y)
    data = torch.from_numpy(rng.normal(size=(2, 8, 8, 3)).astype("float32"))
    assert model.predict(data, verbose=0).shape == (2, 4, 4, 5)


def test_conv2d_trains_in_fit(rng):
    model = keras.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.layers[0].get_weights()[0]
    model.fit(rng.normal(size=(8, 5, 5, 1)), rng.integers(0, 2, size=8), epochs=1, verbose=0)
    assert not np.array_equal(before, model.layers[0].get_weights()[0])


def test_conv2d_config_roundtrip(roundtrip, rng):
    layer = Conv2D(3, (2, 3), strides=(1, 2), padding="same", activation="relu",
                   kernel_initializer="he_normal")
    rebuilt = roundtrip(layer, rng.normal(size=(1, 5, 6, 2)).astype("float32"))
    config = layer.get_config()
    assert config["kernel_size"] == (2, 3) and config["strides"] == (1, 2)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert config["dilation_rate"] == (1, 1) and config["groups"] == 1
    assert config["kernel_initializer"]["class_name"] == "HeNormal"
    assert rebuilt.kernel.shape == (2, 3, 2, 3)
    # Keras JSON stores tuples as lists; the layer accepts them.
    assert Conv2D.from_config({**config, "kernel_size": [2, 3]}).kernel_size == (2, 3)


@pytest.mark.parametrize("kwargs,message", [
    ({"filters": 0, "kernel_size": 3}, r"Conv2D expected `filters` to be a positive int. "
                                       r"Received: filters=0"),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, r"`kernel_size` to be a positive int or a "
                                               r"tuple of 2 positive ints"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"},
     r"`padding` to be 'valid' or 'same'. Received: padding='full'"),
    ({"filters": 2, "kernel_size": 3, "data_format": "nhwc"},
     r"`data_format` to be 'channels_last' or 'channels_first'"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
     r"does not support strides > 1 together with dilation_rate > 1"),
    ({"filters": 3, "kernel_size": 3, "groups": 2},
     r"`filters` to be divisible by `groups`. Received: filters=3, groups=2"),
])
def test_conv2d_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Conv2D(**kwargs)


def test_conv2d_input_errors():
    with pytest.raises(ShapeError, match=r'Input 0 of layer "conv2d" is incompatible with the '
                                         r'layer: expected ndim=4, found ndim=2'):
        Conv2D(2, 3)(np.ones((2, 5), "float32"))
    layer = Conv2D(2, 3)
    layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ShapeError, match=r"expected axis -1 of input shape to have value 3, "
                                         r"but received input with shape \(1, 5, 5, 4\)"):
        layer(np.ones((1, 5, 5, 4), "float32"))
    with pytest.raises(ShapeError, match=r"number of input channels must be evenly divisible "
                                         r"by the number of groups. Received groups=2, but the "
                                         r"input has 3 channels"):
        Conv2D(2, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))
