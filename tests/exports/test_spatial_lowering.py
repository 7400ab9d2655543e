"""The lowerings of exports/lowering/spatial_more.py and preprocessing.py without TensorFlow: the
ops they emit (dynamic batch of the transposed convolutions, Transposes around channels-first
layers) and every refusal's message. TensorFlow runs them in
tests/interop/test_saved_model_spatial_lowering_interop.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import savepoint as keras
from savepoint.exports.lowering import LoweringError, lower_model
from savepoint.exports.lowering.layers import LOWERINGS
from savepoint.exports.lowering.spatial_more import CHANNELS_FIRST
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_INT32
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for

L = keras.layers


def one(shape, *layers, dtype="float32") -> keras.Model:
    x = keras.Input(shape, dtype=dtype, name="x")
    h = x
    for layer in layers:
        h = layer(h)
    return keras.Model(x, h)


def ops(model: keras.Model) -> list[str]:
    return [n.op for n in lower_model(model).function.nodes]


def nodes(model: keras.Model, op: str) -> list:
    return [n for n in lower_model(model).function.nodes if n.op == op]


def test_every_named_layer_has_a_lowering():
    names = ["Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
             "DepthwiseConv1D", "SeparableConv1D", "MaxPooling3D", "AveragePooling3D",
             "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding3D", "UpSampling1D",
             "UpSampling2D", "UpSampling3D", "Rescaling", "Normalization", "Resizing",
             "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
             "RandomContrast", "RandomCrop", "CategoryEncoding", "Discretization"]
    assert [n for n in names if n not in LOWERINGS] == []
    assert len(CHANNELS_FIRST) == 31 and "Conv2D" in CHANNELS_FIRST


def test_transposed_convolution_packs_the_dynamic_batch_with_static_dims():
    model = one((5, 4, 3), L.Conv2DTranspose(2, 3, strides=2, padding="same",
                                             output_padding=1))
    fn = lower_model(model).function
    pack = next(n for n in fn.nodes if n.op == "Pack")
    conv = next(n for n in fn.nodes if n.op == "Conv2DBackpropInput")
    assert pack.attrs["N"].value == 4 and pack.attrs["T"].value == DT_INT32
    assert pack.inputs[0].startswith("StridedSlice")  # Shape(x)[0]
    assert conv.inputs[0] == "Pack:output:0"
    assert conv.attrs["strides"].value == [1, 2, 2, 1] and conv.attrs["padding"].value == "SAME"
    consts = {n.name: n for n in fn.nodes if n.op == "Const"}
    sizes = [np.frombuffer(consts[e.split(":")[0]].attrs["value"].value.content, np.int32)[0]
             for e in pack.inputs[1:]]
    # tf.keras's deconv_output_length with the output_padding: (5 - 1) * 2 + 3 - 2 + 1 rows
    assert sizes == [10, 8, 2] == list(model.outputs[0].shape[1:])


def test_one_and_three_d_transposed_convolutions():
    emitted = ops(one((7, 2), L.Conv1DTranspose(3, 2, dilation_rate=3)))
    assert emitted[emitted.index("Pack"):] == ["Pack", "Conv2DBackpropInput", "Squeeze",
                                               "ReadVariableOp", "BiasAdd", "Identity"]
    conv = nodes(one((7, 2), L.Conv1DTranspose(3, 2, dilation_rate=3)),
                 "Conv2DBackpropInput")[0]
    assert conv.attrs["dilations"].value == [1, 1, 3, 1]
    conv3 = nodes(one((2, 3, 2, 1), L.Conv3DTranspose(2, 2, strides=(1, 2, 1))),
                  "Conv3DBackpropInputV2")[0]
    assert conv3.attrs["strides"].value == [1, 1, 2, 1, 1]
    assert conv3.attrs["data_format"].value == "NDHWC"


def test_channels_first_is_transposed_around_the_channels_last_op():
    model = one((3, 8, 7), L.Conv2D(4, 3, data_format="channels_first"))
    assert ops(model) == ["Const", "Transpose", "ReadVariableOp", "Conv2D", "ReadVariableOp",
                          "BiasAdd", "Const", "Transpose", "Identity"]
    conv = nodes(model, "Conv2D")[0]
    assert conv.attrs["data_format"].value == "NHWC"
    # a global pooling without keepdims has no spatial axes left: no Transpose back
    pooled = one((3, 4, 4), L.GlobalAveragePooling2D(data_format="channels_first"))
    assert ops(pooled).count("Transpose") == 1


def test_causal_separable_conv1d_pads_on_the_left():
    model = one((10, 2), L.SeparableConv1D(3, 3, padding="causal", dilation_rate=2))
    assert ops(model)[:3] == ["Const", "Pad", "Const"]
    depthwise = nodes(model, "DepthwiseConv2dNative")[0]
    assert depthwise.attrs["padding"].value == "VALID"


def test_cropping_masks_the_ends_it_does_not_crop():
    model = one((None, 3), L.Cropping1D((2, 0)))  # an unknown length works too
    (slice_,) = nodes(model, "StridedSlice")
    assert slice_.attrs["begin_mask"].value == 0b101
    assert slice_.attrs["end_mask"].value == 0b111


def test_discretization_counts_the_boundaries_below():
    model = one((3,), L.Discretization([0.0, 1.0], output_mode="count"))
    assert "GreaterEqual" in ops(model) and "OneHot" in ops(model)


# ----------------------------------------------------------------------------- refusals
def refused(model_fn, *phrases: str) -> None:
    with pytest.raises(LoweringError) as info:
        lower_model(model_fn())
    message = str(info.value)
    for phrase in phrases + ("cannot be lowered to TensorFlow ops", "Fix:"):
        assert phrase in message, (phrase, message)


def test_refuses_grouped_conv3d():
    refused(lambda: one((4, 4, 4, 4), L.Conv3D(4, 2, groups=2)), "Layer 'conv3d' (Conv3D)",
            "expected groups 1")


def test_refuses_unknown_spatial_sizes_where_shapes_are_static():
    refused(lambda: one((None, None, 3), L.Conv2DTranspose(2, 3)), "(Conv2DTranspose)",
            "expected a static output shape except the batch",
            "received (None, None, None, 2)")
    refused(lambda: one((None, 3), L.UpSampling1D(2)), "(UpSampling1D)",
            "expected a static input shape except the batch", "received (None, None, 3)")
    refused(lambda: one((None, None, 3), L.Resizing(2, 2)), "(Resizing)",
            "expected a static input shape except the batch")


def test_refuses_normalization_over_the_batch_axis():
    def model():
        x = keras.Input((3,), batch_size=4)
        return keras.Model(x, L.Normalization(axis=(0, 1), mean=0.5, variance=2.0)(x))
    refused(model, "(Normalization)", "expected an axis other than the batch axis",
            "received axis [0, 1]")


def test_refuses_unbatched_images_and_other_resize_kernels():
    refused(lambda: one((4, 4), L.Resizing(2, 2)), "(Resizing)",
            "expected batched images (batch, height, width, channels)",
            "received shape (None, 4, 4)")
    refused(lambda: one((4, 4, 3), L.Resizing(2, 2, interpolation="bicubic")),
            "expected interpolation 'bilinear' or 'nearest'", "received 'bicubic'")
    refused(lambda: one((4, 4, 3), L.Resizing(2, 2, interpolation="area")), "received 'area'")
    refused(lambda: one((4, 4), L.CenterCrop(2, 2)), "(CenterCrop)",
            "expected batched images")


def test_refuses_category_encodings_it_cannot_express():
    refused(lambda: one((), L.CategoryEncoding(5, output_mode="multi_hot"), dtype="int32"),
            "(CategoryEncoding)", "expected ids of shape (batch, tokens), or (batch,) for "
            "one_hot", "received (None,)")

    def weighted():
        x, w = keras.Input((3,), dtype="int32"), keras.Input((3,))
        return keras.Model([x, w], L.CategoryEncoding(5, output_mode="count")(
            x, count_weights=w))
    refused(weighted, "(CategoryEncoding)", "expected no count_weights input")


def test_integer_discretization_ids_take_the_graphs_output_dtype():
    model = one((3,), L.Discretization([0.0, 1.0]))
    low = lower_model(model)
    assert low.outputs[0].dtype == tf_enum_for(model.outputs[0].dtype)
    cast = [n for n in low.function.nodes if n.op == "Cast"]
    assert cast[0].attrs["SrcT"].value == DT_BOOL  # the comparisons counted
    # float32 ids: the comparisons' bool -> float cast only, no cast of the ids
    assert ops(one((3,), L.Discretization([0.0, 1.0], dtype="float32"))).count("Cast") == 1


def test_the_float32_rule_still_holds_for_the_other_layers():
    refused(lambda: one((3,), L.Rescaling(2.0, dtype="float64")), "(Rescaling)",
            "expected float32 variables and computation", "['float64']")


def test_a_refused_layer_leaves_the_saved_model_without_a_signature(tmp_path):
    from savepoint.saving.handlers.saved_model_writer import write_saved_model
    model = one((4, 4, 3), L.Resizing(2, 2, interpolation="bicubic"), L.Dense(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_saved_model(model, str(tmp_path / "m"))
    assert any("interpolation 'bilinear' or 'nearest'" in str(w.message) for w in caught)
