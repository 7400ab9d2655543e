"""Convolution layers beyond the goldens: channels_first, symbolic shapes, Keras 2 aliases,
channels-last memory format, and every argument error (numerics: test_conv_goldens.py)."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D,
                              Conv3DTranspose, DepthwiseConv1D, DepthwiseConv2D, Input,
                              SeparableConv1D, SeparableConv2D)
from savepoint.layers.convolutional.conv_utils import (deconv_output_length, same_padding,
                                                       to_channels_first)
from savepoint.serialization import deserialize

LAYERS = [
    (Conv1D, dict(filters=3, kernel_size=4, strides=2, padding="same"), (9, 2)),
    (Conv3D, dict(filters=2, kernel_size=2, strides=2, padding="same"), (5, 4, 3, 2)),
    (Conv1DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same"), (4, 3)),
    (Conv2DTranspose, dict(filters=2, kernel_size=4, strides=2, padding="same",
                           output_padding=1), (3, 4, 2)),
    (Conv3DTranspose, dict(filters=2, kernel_size=3, strides=2), (2, 3, 2, 2)),
    (DepthwiseConv1D, dict(kernel_size=3, padding="same", depth_multiplier=2), (6, 3)),
    (DepthwiseConv2D, dict(kernel_size=2, strides=2, padding="same"), (5, 5, 2)),
    (SeparableConv1D, dict(filters=3, kernel_size=3, padding="same"), (6, 2)),
    (SeparableConv2D, dict(filters=3, kernel_size=3, strides=2, padding="same",
                           depth_multiplier=2), (7, 6, 2)),
]


@pytest.mark.parametrize("cls,kwargs,shape", LAYERS, ids=[c.__name__ for c, _, _ in LAYERS])
def test_channels_first_matches_channels_last(cls, kwargs, shape, rng):
    x = rng.normal(size=(2,) + shape).astype("float32")
    last = cls(**kwargs, bias_initializer="random_normal")
    out_last = last(x)
    first = cls(**kwargs, data_format="channels_first")
    x_first = np.moveaxis(x, -1, 1)
    first(x_first)
    first.set_weights(last.get_weights())
    out_first = first(x_first)
    torch.testing.assert_close(torch.movedim(out_first, 1, -1), out_last, rtol=1e-5, atol=1e-5)
    assert first.compute_output_shape((None,) + x_first.shape[1:]) == \
        (None,) + tuple(out_first.shape[1:])


@pytest.mark.parametrize("cls,kwargs,shape", LAYERS, ids=[c.__name__ for c, _, _ in LAYERS])
def test_symbolic_shapes_and_unknown_sizes(cls, kwargs, shape, roundtrip, rng):
    inputs = Input(shape)
    out = cls(**kwargs)(inputs)
    model = keras.Model(inputs, out)
    x = rng.normal(size=(2,) + shape).astype("float32")
    assert model.predict(x, verbose=0).shape[1:] == out.shape[1:]
    unknown = Input((None,) * (len(shape) - 1) + shape[-1:])
    assert cls(**kwargs)(unknown).shape[:-1] == (None,) * len(shape)
    roundtrip(cls(**kwargs), x)


def test_same_padding_rule_and_transpose_lengths():
    assert same_padding(5, 2, 1) == (0, 1) and same_padding(7, 4, 2) == (1, 2)
    assert deconv_output_length(4, 3, "valid", None, 2) == 9
    assert deconv_output_length(4, 3, "same", 1, 2) == 8
    assert deconv_output_length(4, 1, "valid", None, 3) == 12
    assert deconv_output_length(None, 3, "same", None, 2) is None


def test_causal_conv1d_sees_only_the_past():
    layer = Conv1D(1, 3, padding="causal", kernel_initializer="ones", use_bias=False)
    x = np.zeros((1, 6, 1), "float32")
    x[0, 3, 0] = 1.0
    out = layer(x)[0, :, 0].detach().numpy()
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 1, 1])


def test_channels_last_input_reaches_torch_without_a_copy():
    x = torch.zeros(2, 8, 8, 3)
    view = to_channels_first(x, "channels_last")
    assert view.data_ptr() == x.data_ptr()
    assert view.is_contiguous(memory_format=torch.channels_last)
    out = Conv2D(4, 3, padding="same")(x)
    assert out.is_contiguous()  # NHWC back, with no permute copy
    x3 = torch.zeros(1, 4, 4, 4, 2)
    assert to_channels_first(x3, "channels_last").is_contiguous(
        memory_format=torch.channels_last_3d)


@pytest.mark.parametrize("alias,cls", [
    ("Convolution1D", Conv1D), ("Convolution2D", Conv2D), ("Convolution3D", Conv3D),
    ("Convolution1DTranspose", Conv1DTranspose), ("Convolution2DTranspose", Conv2DTranspose),
    ("Deconvolution2D", Conv2DTranspose), ("Convolution3DTranspose", Conv3DTranspose),
    ("Deconvolution3D", Conv3DTranspose), ("SeparableConvolution1D", SeparableConv1D),
    ("SeparableConvolution2D", SeparableConv2D)])
def test_keras2_aliases(alias, cls):
    assert getattr(keras.layers, alias) is cls
    layer = deserialize({"class_name": alias, "config": {"filters": 2, "kernel_size": 3}},
                        "layers")
    assert type(layer) is cls


def test_weights_names_and_shapes():
    sep = SeparableConv2D(5, 3, depth_multiplier=2)
    sep.build((None, 8, 8, 3))
    assert [(w.name, w.shape) for w in sep.weights] == [
        ("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 5)), ("bias", (5,))]
    dw = DepthwiseConv1D(4, depth_multiplier=3, use_bias=False)
    dw.build((None, 8, 2))
    assert [(w.name, w.shape) for w in dw.weights] == [("depthwise_kernel", (4, 2, 3))]
    tr = Conv3DTranspose(4, 2)
    tr.build((None, 3, 3, 3, 6))
    assert [(w.name, w.shape) for w in tr.weights] == [("kernel", (2, 2, 2, 4, 6)),
                                                       ("bias", (4,))]
    grouped = Conv1D(6, 3, groups=3)
    grouped.build((None, 5, 9))
    assert grouped.kernel.shape == (3, 3, 6)


def test_conv_layers_train_in_fit(rng):
    model = keras.Sequential([SeparableConv1D(4, 3, input_shape=(10, 2)),
                              Conv1DTranspose(2, 3, strides=2), DepthwiseConv1D(3),
                              keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [w.copy() for w in model.get_weights()]
    model.fit(rng.normal(size=(8, 10, 2)), rng.integers(0, 2, 8), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("build,error,message", [
    (lambda: Conv2D(2, 3, padding="causal"), ConfigError,
     r"Conv2D expected `padding` to be 'valid' or 'same'. Received: padding='causal'"),
    (lambda: DepthwiseConv1D(3, padding="causal"), ConfigError,
     r"DepthwiseConv1D expected `padding` to be 'valid' or 'same'"),
    (lambda: Conv1D(2, 3, padding="causal", data_format="channels_first"), ConfigError,
     r"Conv1D supports padding='causal' only with data_format='channels_last'"),
    (lambda: Conv1D(2, 3, padding="full"), ConfigError,
     r"Conv1D expected `padding` to be 'valid' or 'same' or 'causal'. Received: "
     r"padding='full'"),
    (lambda: Conv3D(2, (3, 3)), ConfigError,
     r"Conv3D expected `kernel_size` to be a positive int or a tuple of 3 positive ints. "
     r"Received: kernel_size=\(3, 3\)"),
    (lambda: Conv1D(2, 3, strides=2, dilation_rate=2), ConfigError,
     r"Conv1D does not support strides > 1 together with dilation_rate > 1"),
    (lambda: Conv2DTranspose(2, 3, groups=2), ConfigError,
     r"Conv2DTranspose expected `groups` to be 1 .* Received: groups=2"),
    (lambda: DepthwiseConv2D(3, groups=3), ConfigError,
     r"DepthwiseConv2D expected `groups` to be 1"),
    (lambda: SeparableConv2D(4, 3, groups=2), ConfigError,
     r"SeparableConv2D expected `groups` to be 1"),
    (lambda: Conv2DTranspose(2, 3, strides=2, output_padding=2), ConfigError,
     r"Conv2DTranspose expected each `output_padding` to be smaller than the matching "
     r"stride. Received: strides=\(2, 2\), output_padding=\(2, 2\)"),
    (lambda: Conv1DTranspose(2, 3, output_padding=-1), ConfigError,
     r"`output_padding` to be a non-negative int or a tuple of 1 non-negative ints"),
    (lambda: Conv1DTranspose(2, 3, padding="causal"), ConfigError,
     r"Conv1DTranspose expected `padding` to be 'valid' or 'same'"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), ConfigError,
     r"DepthwiseConv2D expected `depth_multiplier` to be a positive int. Received: "
     r"depth_multiplier=0"),
    (lambda: SeparableConv1D(0, 3), ConfigError,
     r"SeparableConv1D expected `filters` to be a positive int. Received: filters=0"),
    (lambda: DepthwiseConv2D(3, filters=4), ConfigError,
     r"DepthwiseConv2D expected no `filters` .* Received: filters=4"),
    (lambda: Conv3D(2, 3, data_format="ndhwc"), ConfigError,
     r"Conv3D expected `data_format` to be 'channels_last' or 'channels_first'"),
])
def test_argument_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_input_errors():
    with pytest.raises(ShapeError, match=r'Input 0 of layer "conv1d" is incompatible with the '
                                         r'layer: expected ndim=3, found ndim=4'):
        Conv1D(2, 3)(np.ones((1, 5, 5, 2), "float32"))
    layer = SeparableConv2D(2, 3)
    layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ShapeError, match=r"expected axis -1 of input shape to have value 3, "
                                         r"but received input with shape \(1, 5, 5, 4\)"):
        layer(np.ones((1, 5, 5, 4), "float32"))
    with pytest.raises(ShapeError, match=r"expected the channel dimension of its input to be "
                                         r"known"):
        DepthwiseConv2D(3)(Input((5, 5, None)))


def test_float64_models_keep_working(rng):
    model = keras.Sequential([Conv2D(2, 3, padding="same", input_shape=(5, 5, 2)),
                              keras.layers.AveragePooling2D(2, padding="same"),
                              Conv2DTranspose(2, 2, strides=2), keras.layers.UpSampling2D(
                                  interpolation="bilinear"), keras.layers.GlobalMaxPooling2D()])
    x = rng.normal(size=(2, 5, 5, 2)).astype("float32")
    expected = model(x).detach().numpy()
    model.to(torch.float64)
    out = model(torch.from_numpy(x).double())
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_constraints_are_applied_by_fit_and_saved(rng, roundtrip):
    model = keras.Sequential([
        Conv2D(3, 3, kernel_constraint="non_neg", bias_constraint="non_neg",
               input_shape=(6, 6, 2)),
        DepthwiseConv2D(2, depthwise_constraint=keras.constraints.MaxNorm(0.5, axis=[0, 1])),
        SeparableConv2D(2, 2, depthwise_constraint="non_neg", pointwise_constraint="non_neg"),
        Conv2DTranspose(2, 2, kernel_constraint="non_neg"), keras.layers.Flatten(),
        keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(rng.normal(size=(8, 6, 6, 2)), rng.normal(size=(8, 2)) * 10, epochs=2, verbose=0)
    conv, depthwise, separable, transpose = model.layers[:4]
    for w in (conv.kernel, conv.bias, separable.depthwise_kernel, separable.pointwise_kernel,
              transpose.kernel):
        assert float(w.detach().min()) >= 0.0
    norms = depthwise.depthwise_kernel.detach().square().sum(dim=(0, 1)).sqrt()
    assert float(norms.max()) <= 0.5 + 1e-6
    config = separable.get_config()
    assert config["depthwise_constraint"]["class_name"] == "NonNeg"
    assert config["kernel_constraint"] is None
    roundtrip(SeparableConv2D(2, 2, pointwise_constraint="max_norm"),
              rng.normal(size=(1, 4, 4, 2)).astype("float32"))


def test_activity_regularizer_joins_the_training_loss(rng):
    model = keras.Sequential([Conv1D(3, 2, activity_regularizer="l2", input_shape=(6, 2)),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = rng.normal(size=(4, 6, 2)).astype("float32"), np.zeros((4, 1), "float32")
    plain = float(model.evaluate(x, y, verbose=0))
    conv_out = model.layers[0](x)
    penalty = 0.01 * float((conv_out.detach() ** 2).sum()) / 4
    model.layers[0]._own_losses.clear()
    mse = float(((model(x).detach().numpy() - y) ** 2).mean())
    np.testing.assert_allclose(plain, mse + penalty, rtol=1e-5)
    model.fit(x, y, epochs=2, verbose=0)  # a new loss each step; no stale graph
    assert model.layers[0].get_config()["activity_regularizer"]["class_name"] == "L2"
