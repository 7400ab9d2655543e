"""LIVE: TensorFlow serves the lowerings of exports/lowering/spatial_more.py and preprocessing.py.

3-D convolutions and pooling, the transposed convolutions (dynamic batch through Shape/Pack),
1-D depthwise and separable convolutions, cropping, padding and upsampling, channels-first
layers (Transpose around the channels-last ops) and the preprocessing layers' inference pass.
Each model goes through the same checks as test_saved_model_write_interop.py: the serving
signature at two batch sizes (<= 1e-5 of ``model.predict``), ``saved_model_cli run`` and
``tf.keras.models.load_model`` (weights bit for bit, predictions); one TF process for all."""

from __future__ import annotations

import json
import os

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed
from test_saved_model_write_interop import _case, _ops_table
from venv_runners import TF_PYTHON, _interop_python, _run_in_tf

L = keras.layers


def volumes() -> keras.Model:
    """Conv3D (same, dilated valid), 3-D pooling, ZeroPadding3D, Cropping3D, UpSampling3D,
    Conv3DTranspose (same with output_padding, valid)."""
    set_random_seed(1)
    x = keras.Input((6, 6, 5, 2), name="volume")
    h = L.Conv3D(4, 3, padding="same", activation="relu")(x)
    h = L.Conv3D(3, 2, dilation_rate=2)(h)
    h = L.AveragePooling3D(2, strides=1, padding="same")(L.MaxPooling3D(2, padding="same")(h))
    h = L.Cropping3D(((1, 0), (0, 1), (1, 0)))(L.ZeroPadding3D((1, 0, 2))(h))
    h = L.UpSampling3D((1, 2, 1))(h)
    h = L.Conv3DTranspose(3, 3, strides=2, padding="same", output_padding=1)(h)
    h = L.Conv3DTranspose(2, 2, activation="tanh")(h)
    h = L.MaxPooling3D((2, 3, 2), strides=(2, 1, 3))(h)
    return keras.Model(x, L.Dense(3, name="out")(L.GlobalAveragePooling3D()(h)))


def transposed() -> keras.Model:
    """Conv2DTranspose (same/valid, strides, output_padding, dilation, a kernel smaller than
    its stride) and Conv1DTranspose (same with output_padding, dilated valid)."""
    set_random_seed(2)
    image = keras.Input((5, 4, 3), name="image")
    g = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(image)
    g = L.Conv2DTranspose(3, 3, strides=(3, 2), output_padding=(1, 0))(g)
    g = L.Conv2DTranspose(3, (3, 2), dilation_rate=2, padding="same")(g)
    g = L.Conv2DTranspose(2, 1, strides=2)(g)
    series = keras.Input((7, 2), name="series")
    s = L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1)(series)
    s = L.Conv1DTranspose(3, 2, dilation_rate=3, activation="elu")(s)
    s = L.Conv1DTranspose(2, 4, strides=3, use_bias=False)(s)
    merged = L.Concatenate()([L.GlobalMaxPooling2D()(g), L.Flatten()(s)])
    model = keras.Model([image, series], L.Dense(3, name="out")(merged))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def sequences() -> keras.Model:
    """DepthwiseConv1D (same with depth_multiplier, strided valid, dilated), SeparableConv1D
    (causal with dilation, strided valid, no bias), Cropping1D, UpSampling1D, ZeroPadding1D."""
    set_random_seed(3)
    x = keras.Input((16, 3), name="steps")
    h = L.DepthwiseConv1D(3, padding="same", depth_multiplier=2, activation="relu")(x)
    h = L.DepthwiseConv1D(2, strides=2)(h)
    h = L.DepthwiseConv1D(3, dilation_rate=2, padding="same")(h)
    h = L.SeparableConv1D(5, 3, padding="causal", dilation_rate=2, depth_multiplier=2)(h)
    h = L.SeparableConv1D(4, 2, strides=2, use_bias=False, activation="tanh")(h)
    h = L.UpSampling1D(3)(L.Cropping1D((1, 2))(h))
    h = L.Cropping1D((0, 1))(L.ZeroPadding1D((2, 1))(h))
    return keras.Model(x, L.Dense(2, name="out")(L.Flatten()(h)))


def images() -> keras.Model:
    """Cropping2D, UpSampling2D nearest and bilinear, beside Conv2D."""
    set_random_seed(4)
    x = keras.Input((6, 7, 2), name="image")
    h = L.Cropping2D(((1, 0), (2, 1)))(L.Conv2D(3, 2, padding="same")(x))
    a = L.UpSampling2D((2, 3))(h)
    b = L.UpSampling2D(2, interpolation="bilinear")(h)
    b = L.Cropping2D(((0, 0), (0, 5)))(b)
    return keras.Model(x, [L.Activation("linear", name="nearest")(a),
                           L.Activation("linear", name="bilinear")(b)])


def channels_first() -> keras.Model:
    """Every spatial layer with data_format='channels_first' (Transpose, NHWC op, Transpose)
    that tf.keras 2 has too (its ZeroPadding1D, Cropping1D and UpSampling1D take none)."""
    set_random_seed(5)
    cf = "channels_first"
    image = keras.Input((3, 8, 7), name="image")
    g = L.Conv2D(4, 3, padding="same", data_format=cf, activation="relu")(image)
    g = L.DepthwiseConv2D(2, depth_multiplier=2, data_format=cf)(g)
    g = L.SeparableConv2D(4, 2, data_format=cf)(g)
    g = L.Conv2DTranspose(3, 3, strides=2, padding="same", data_format=cf)(g)
    g = L.AveragePooling2D(2, data_format=cf)(L.MaxPooling2D(2, 1, data_format=cf)(g))
    g = L.UpSampling2D(2, data_format=cf, interpolation="bilinear")(g)
    g = L.Cropping2D(((1, 0), (0, 2)), data_format=cf)(L.ZeroPadding2D(1, data_format=cf)(g))
    g = L.UpSampling2D((1, 2), data_format=cf)(g)
    keep = L.GlobalAveragePooling2D(data_format=cf, keepdims=True)(g)
    series = keras.Input((2, 9), name="series")
    s = L.Conv1D(3, 3, data_format=cf)(series)
    s = L.DepthwiseConv1D(2, data_format=cf)(L.SeparableConv1D(4, 2, data_format=cf)(s))
    s = L.Conv1DTranspose(3, 2, strides=2, data_format=cf)(s)
    s = L.AveragePooling1D(2, data_format=cf)(L.MaxPooling1D(2, 1, data_format=cf)(s))
    volume = keras.Input((2, 4, 4, 3), name="volume")
    v = L.Conv3D(3, 2, padding="same", data_format=cf)(volume)
    v = L.Conv3DTranspose(2, 2, strides=2, data_format=cf)(v)
    v = L.AveragePooling3D(2, data_format=cf)(L.MaxPooling3D(2, 1, data_format=cf)(v))
    v = L.Cropping3D(1, data_format=cf)(L.ZeroPadding3D(1, data_format=cf)(v))
    v = L.UpSampling3D(2, data_format=cf)(v)
    merged = L.Concatenate()([
        L.GlobalMaxPooling2D(data_format=cf)(g), L.Flatten()(keep),
        L.GlobalAveragePooling1D(data_format=cf)(s), L.GlobalMaxPooling1D(data_format=cf)(s),
        L.GlobalAveragePooling3D(data_format=cf)(v), L.GlobalMaxPooling3D(data_format=cf)(v)])
    return keras.Model([image, series, volume], [L.Dense(3, name="out")(merged),
                                                 L.Activation("linear", name="map")(g)])


def preprocessing() -> keras.Model:
    """Rescaling (scalar and per channel), Normalization (adapted, given and inverted),
    Resizing (bilinear, nearest, cropped to the aspect ratio), CenterCrop (crop and upsize),
    RandomCrop (smart_resize at inference) and the identity augmentations."""
    set_random_seed(6)
    x = keras.Input((10, 12, 3), name="pixels")
    h = L.Rescaling(1 / 127.5, offset=-1.0)(x)
    h = L.Rescaling([0.5, 2.0, 1.0], offset=[0.0, 0.1, -0.2])(h)
    adapted = L.Normalization()
    adapted.adapt(np.random.default_rng(0).normal(2.0, 3.0, (20, 10, 12, 3)).astype("float32"))
    h = adapted(h)
    h = L.Normalization(axis=(1, 3), mean=0.5, variance=2.0)(h)
    h = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 4.0, 0.0], invert=True)(h)
    for layer in (L.RandomFlip(), L.RandomRotation(0.2), L.RandomZoom(0.1),
                  L.RandomTranslation(0.1, 0.2), L.RandomContrast(0.3)):
        h = layer(h)
    outs = [L.Resizing(7, 9)(h), L.Resizing(15, 8, interpolation="nearest")(h),
            L.Resizing(5, 5, crop_to_aspect_ratio=True)(h),
            L.Resizing(6, 4, interpolation="nearest", crop_to_aspect_ratio=True)(h),
            L.CenterCrop(6, 7)(h), L.CenterCrop(12, 8)(h), L.RandomCrop(5, 7)(h)]
    return keras.Model(x, [L.Activation("linear", name=f"p{i}")(o) for i, o in enumerate(outs)])


def categories() -> keras.Model:
    """CategoryEncoding (one_hot of (batch,) and (batch, 1), multi_hot, count) on int ids,
    Discretization (int64 ids into an Embedding, one_hot, multi_hot, count) on floats and
    ints, Rescaling of ints."""
    set_random_seed(7)
    ids = keras.Input((4,), dtype="int32", name="ids")
    one = keras.Input((1,), dtype="int32", name="one")
    single = keras.Input((), dtype="int32", name="single")
    values = keras.Input((3,), name="values")
    encoded = [L.CategoryEncoding(20, output_mode="multi_hot")(ids),
               L.CategoryEncoding(20, output_mode="count")(ids),
               L.CategoryEncoding(20, output_mode="one_hot")(one),
               L.CategoryEncoding(20, output_mode="one_hot")(single),
               L.Discretization([-0.5, 0.0, 1.0], output_mode="count")(values),
               L.Discretization([-1.0, 0.5], output_mode="multi_hot")(values),
               L.Discretization([3.0, 10.5], output_mode="one_hot")(single),
               L.Rescaling(0.1, offset=0.5)(ids)]
    buckets = L.Discretization([-0.3, 0.2, 0.9], name="buckets")(values)  # int64 ids
    encoded.append(L.Flatten()(L.Embedding(4, 2)(buckets)))
    merged = L.Concatenate()(encoded)
    return keras.Model([ids, one, single, values],
                       [L.Dense(2, name="out")(merged),
                        L.Activation("linear", name="codes")(merged), buckets])


def no_variables() -> keras.Model:
    """No variable at all: the TF1 saver has no RestoreV2/SaveV2 (they need one tensor), and
    ``saved_model_cli run`` still restores (nothing) and runs."""
    x = keras.Input((4, 3), name="pixels")
    return keras.Model(x, L.Activation("tanh", name="out")(L.Flatten()(L.Cropping1D(1)(x))))


def test_tf_serves_the_remaining_spatial_and_preprocessing_layers(tmp_path):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    cases = [_case(tmp_path, "volumes", volumes()),
             _case(tmp_path, "transposed", transposed()),
             _case(tmp_path, "sequences", sequences()),
             _case(tmp_path, "images", images()),
             _case(tmp_path, "channels_first", channels_first()),
             _case(tmp_path, "preprocessing", preprocessing()),
             _case(tmp_path, "categories", categories()),
             _case(tmp_path, "no_variables", no_variables())]
    cli = os.path.join(os.path.dirname(python), "saved_model_cli")
    out = _run_in_tf(python, "tf_check_saved_model.py",
                     {"cases": cases, "ops": _ops_table(), "cli": cli})
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["dir"] for r in reports] == ["volumes", "transposed", "sequences", "images",
                                              "channels_first", "preprocessing", "categories",
                                              "no_variables"]
    for report in reports:
        assert report["signature"] <= 1e-5 and report["cli"] <= 1e-5 and report["keras"] <= 1e-5
