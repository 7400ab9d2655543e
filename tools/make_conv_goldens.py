"""Regenerate the convolution/pooling/reshaping goldens in tests/fixtures/goldens/conv/ with REAL
tf-keras (numbers and Keras 2 configs) and Keras 3 (configs).

Run from the repository root:

    .venv/bin/python tools/make_conv_goldens.py          # runs itself in both interop venvs

or one side: ``.venvs/tf/bin/python tools/make_conv_goldens.py tf_keras`` /
``.venvs/keras3/bin/python tools/make_conv_goldens.py keras3``.

For each case (a layer class, its constructor arguments and an input shape) the tf-keras side
builds the layer, sets weights drawn from a seeded generator, and records in ``<family>.npz``
(``<case>/x``, ``<case>/r``, ``<case>/y`` = layer(x), ``<case>/dx`` and ``<case>/dw<i>`` = the
gradients of ``sum(y * r)``, ``<case>/w<i>`` the weights, ``<case>/losses`` the sum of
``layer.losses`` after the call where there are regularizers, ``<case>/mask`` the mask a
masked case is called with) and in ``<family>.keras2.json`` the
case's class, arguments, input shape, ``get_config()``, weight names/shapes and the tf-keras
``to_json()`` model config of ``Sequential([InputLayer, layer])``. The Keras 3 side writes
``<family>.keras3.json``: the same model serialized by Keras 3 and its weight shapes (or the
error of a case Keras 3 does not take).
"""

from __future__ import annotations

import json
import os

from _goldens import ROOT, run_sides, write_json

OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "conv")

# (case name, class name, constructor kwargs, input shape without the batch dimension)
CONV = [
    ("conv1d_valid", "Conv1D", dict(filters=3, kernel_size=3, activation="relu"), (7, 2)),
    ("conv1d_same_even_stride", "Conv1D", dict(filters=2, kernel_size=4, strides=2,
                                               padding="same"), (9, 3)),
    ("conv1d_causal_dilated", "Conv1D", dict(filters=2, kernel_size=3, padding="causal",
                                             dilation_rate=2), (8, 2)),
    ("conv1d_groups", "Conv1D", dict(filters=6, kernel_size=2, groups=2, padding="same"),
     (5, 4)),
    ("conv2d_valid_relu", "Conv2D", dict(filters=3, kernel_size=3, activation="relu"), (6, 5, 2)),
    ("conv2d_same_even", "Conv2D", dict(filters=2, kernel_size=2, padding="same"), (5, 4, 3)),
    ("conv2d_same_stride", "Conv2D", dict(filters=2, kernel_size=3, strides=2, padding="same"),
     (7, 8, 2)),
    ("conv2d_same_k4_s3", "Conv2D", dict(filters=2, kernel_size=(4, 2), strides=(3, 2),
                                         padding="same"), (8, 7, 2)),
    ("conv2d_dilated_same", "Conv2D", dict(filters=2, kernel_size=3, dilation_rate=2,
                                           padding="same", use_bias=False), (7, 7, 2)),
    ("conv2d_groups", "Conv2D", dict(filters=4, kernel_size=3, groups=2), (5, 5, 4)),
    ("conv3d_same_stride", "Conv3D", dict(filters=2, kernel_size=2, strides=2, padding="same"),
     (5, 4, 3, 2)),
    ("conv3d_valid", "Conv3D", dict(filters=2, kernel_size=(3, 2, 2)), (4, 4, 3, 1)),
    ("conv1dt_valid_s2", "Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (4, 3)),
    ("conv1dt_same_even", "Conv1DTranspose", dict(filters=2, kernel_size=4, strides=2,
                                                  padding="same"), (5, 2)),
    ("conv1dt_same_outpad", "Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2,
                                                    padding="same", output_padding=1), (4, 2)),
    ("conv1dt_valid_k_lt_s", "Conv1DTranspose", dict(filters=2, kernel_size=1, strides=3),
     (4, 2)),
    ("conv2dt_same_s2", "Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2,
                                                padding="same"), (4, 5, 2)),
    ("conv2dt_same_even", "Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2,
                                                  padding="same", activation="tanh"), (3, 4, 2)),
    ("conv2dt_valid_s2", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2),
     (3, 3, 2)),
    ("conv2dt_outpad", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=(2, 3),
                                               padding="same", output_padding=(1, 2)), (3, 3, 2)),
    ("conv2dt_valid_outpad", "Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3,
                                                     output_padding=1), (3, 2, 2)),
    ("conv2dt_dilated", "Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2,
                                                padding="same"), (4, 4, 2)),
    ("conv3dt_same_s2", "Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2,
                                                padding="same"), (2, 3, 2, 2)),
    ("conv3dt_valid_outpad", "Conv3DTranspose", dict(filters=2, kernel_size=3, strides=2,
                                                     output_padding=1), (2, 2, 2, 1)),
    ("dw1d_same_dm2", "DepthwiseConv1D", dict(kernel_size=3, padding="same",
                                              depth_multiplier=2), (6, 3)),
    ("dw1d_valid_s2", "DepthwiseConv1D", dict(kernel_size=2, strides=2), (7, 2)),
    ("dw2d_same_s2_dm2", "DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same",
                                                 depth_multiplier=2), (7, 6, 3)),
    ("dw2d_same_even", "DepthwiseConv2D", dict(kernel_size=2, padding="same",
                                               activation="relu"), (5, 5, 2)),
    ("dw2d_dilated", "DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2, use_bias=False),
     (7, 7, 2)),
    ("sep1d_same_dm2", "SeparableConv1D", dict(filters=4, kernel_size=3, padding="same",
                                               depth_multiplier=2), (6, 3)),
    ("sep1d_causal_dilated", "SeparableConv1D", dict(filters=2, kernel_size=2,
                                                     padding="causal", dilation_rate=2), (7, 2)),
    ("sep2d_same_s2_dm2", "SeparableConv2D", dict(filters=3, kernel_size=3, strides=2,
                                                  padding="same", depth_multiplier=2), (7, 6, 2)),
    ("sep2d_valid_even", "SeparableConv2D", dict(filters=2, kernel_size=2), (5, 4, 3)),
    ("sep2d_dilated_same", "SeparableConv2D", dict(filters=2, kernel_size=3, dilation_rate=2,
                                                   padding="same"), (6, 6, 2)),
    ("conv2d_constraints", "Conv2D", dict(filters=2, kernel_size=3, kernel_constraint="max_norm",
                                          bias_constraint="non_neg"), (5, 5, 2)),
    ("conv1dt_constraints", "Conv1DTranspose", dict(filters=2, kernel_size=3,
                                                    kernel_constraint="unit_norm"), (4, 2)),
    ("dw2d_constraints", "DepthwiseConv2D", dict(kernel_size=2, depthwise_constraint="non_neg",
                                                 bias_constraint="max_norm"), (4, 4, 2)),
    ("sep1d_constraints", "SeparableConv1D", dict(filters=2, kernel_size=3,
                                                  depthwise_constraint="unit_norm",
                                                  pointwise_constraint="max_norm"), (5, 2)),
    ("conv2d_regularizers", "Conv2D", dict(filters=2, kernel_size=2, kernel_regularizer="l2",
                                           bias_regularizer="l1", activity_regularizer="l2"),
     (4, 4, 2)),
    ("sep1d_regularizers", "SeparableConv1D", dict(filters=2, kernel_size=2,
                                                   depthwise_regularizer="l1",
                                                   pointwise_regularizer="l2",
                                                   activity_regularizer="l1"), (5, 2)),
]
POOLING = [
    ("max1d", "MaxPooling1D", dict(), (7, 2)),
    ("max1d_same_s2", "MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (8, 2)),
    ("avg1d", "AveragePooling1D", dict(pool_size=2), (7, 2)),
    ("avg1d_same_s2", "AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (8, 2)),
    ("max2d_same", "MaxPooling2D", dict(padding="same"), (5, 5, 2)),
    ("max2d_same_k3s2", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (7, 6, 2)),
    ("avg2d_same_k3s2", "AveragePooling2D", dict(pool_size=3, strides=2, padding="same"),
     (7, 6, 2)),
    ("avg2d_same_even", "AveragePooling2D", dict(pool_size=2, strides=1, padding="same"),
     (4, 5, 2)),
    ("avg2d_valid", "AveragePooling2D", dict(pool_size=(2, 3), strides=1), (4, 5, 2)),
    ("max3d_same", "MaxPooling3D", dict(padding="same"), (3, 5, 4, 2)),
    ("avg3d_same_k3s2", "AveragePooling3D", dict(pool_size=3, strides=2, padding="same"),
     (5, 4, 3, 2)),
    ("avg3d_valid", "AveragePooling3D", dict(pool_size=2), (4, 4, 4, 1)),
    ("gap1d", "GlobalAveragePooling1D", dict(), (5, 3)),
    ("gmp1d_keep", "GlobalMaxPooling1D", dict(keepdims=True), (5, 3)),
    ("gap2d_keep", "GlobalAveragePooling2D", dict(keepdims=True), (4, 3, 2)),
    ("gmp2d", "GlobalMaxPooling2D", dict(), (4, 3, 2)),
    ("gap3d", "GlobalAveragePooling3D", dict(), (3, 3, 2, 2)),
    ("gmp3d_keep", "GlobalMaxPooling3D", dict(keepdims=True), (3, 3, 2, 2)),
    ("gap1d_masked", "GlobalAveragePooling1D", dict(), (5, 3)),
]
MASKED = {"gap1d_masked"}  # called with a boolean step mask (``<case>/mask``)
RESHAPING = [
    ("zp1d", "ZeroPadding1D", dict(padding=(1, 2)), (4, 2)),
    ("zp2d", "ZeroPadding2D", dict(padding=((1, 0), (2, 3))), (3, 3, 2)),
    ("zp3d", "ZeroPadding3D", dict(padding=(1, 2, 0)), (2, 2, 2, 1)),
    ("crop1d", "Cropping1D", dict(cropping=(1, 2)), (6, 2)),
    ("crop2d", "Cropping2D", dict(cropping=((1, 0), (0, 2))), (4, 5, 2)),
    ("crop3d", "Cropping3D", dict(cropping=((1, 0), (0, 1), (1, 1))), (3, 3, 4, 1)),
    ("up1d", "UpSampling1D", dict(size=3), (4, 2)),
    ("up2d_nearest", "UpSampling2D", dict(size=(2, 3)), (3, 2, 2)),
    ("up2d_bilinear", "UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (3, 4, 2)),
    ("up2d_bilinear3", "UpSampling2D", dict(size=3, interpolation="bilinear"), (2, 3, 1)),
    ("up3d", "UpSampling3D", dict(size=(2, 1, 3)), (2, 2, 2, 1)),
]
FAMILIES = {"conv": CONV, "pooling": POOLING, "reshaping": RESHAPING}


def _tf_keras_side() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf
    import tf_keras as k

    for family, cases in FAMILIES.items():
        arrays, meta = {}, {}
        for index, (case, cls, kwargs, shape) in enumerate(cases):
            rng = np.random.default_rng(1000 + index)
            k.backend.clear_session()
            layer = getattr(k.layers, cls)(**kwargs)
            model = k.Sequential([k.layers.InputLayer(input_shape=shape), layer])
            weights = [(rng.standard_normal(w.shape) * 0.5).astype("float32")
                       for w in layer.get_weights()]
            layer.set_weights(weights)
            x = rng.standard_normal((2,) + shape).astype("float32")
            xt = tf.constant(x)
            call_kwargs = {}
            if case in MASKED:
                mask = rng.random((2, shape[0])) > 0.4
                mask[:, 0] = True
                arrays[f"{case}/mask"], call_kwargs["mask"] = mask, tf.constant(mask)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = layer(xt, **call_kwargs)
                r = tf.constant(rng.standard_normal(y.shape).astype("float32"))
                loss = tf.reduce_sum(y * r)
            grads = tape.gradient(loss, [xt] + layer.trainable_weights)
            arrays[f"{case}/x"], arrays[f"{case}/y"] = x, y.numpy()
            if layer.losses:  # weight and activity regularization of this call
                arrays[f"{case}/losses"] = np.float32(sum(float(v) for v in layer.losses))
            arrays[f"{case}/r"], arrays[f"{case}/dx"] = r.numpy(), grads[0].numpy()
            for i, (w, g) in enumerate(zip(weights, grads[1:])):
                arrays[f"{case}/w{i}"], arrays[f"{case}/dw{i}"] = w, g.numpy()
            meta[case] = {"class_name": cls, "kwargs": kwargs, "input_shape": list(shape),
                          "config": layer.get_config(),
                          "weights": [[w.name, list(w.shape)] for w in layer.weights],
                          "model_config": json.loads(model.to_json())}
        np.savez_compressed(os.path.join(OUT, f"{family}.npz"), **arrays)
        write_json(os.path.join(OUT, f"{family}.keras2.json"), meta)


def _keras3_side() -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras as k

    for family, cases in FAMILIES.items():
        meta = {}
        for case, cls, kwargs, shape in cases:
            try:
                layer = getattr(k.layers, cls)(**kwargs)
            except ValueError as e:  # e.g. Keras 3 has no causal SeparableConv1D
                meta[case] = {"unsupported": str(e)}
                continue
            model = k.Sequential([k.Input(shape), layer], name="seq")
            meta[case] = {"model_config": k.saving.serialize_keras_object(model),
                          "weights": [[w.path, list(w.shape)] for w in layer.weights]}
        write_json(os.path.join(OUT, f"{family}.keras3.json"), meta, default=str)


def main() -> None:
    run_sides(__file__, OUT, _tf_keras_side, _keras3_side)


if __name__ == "__main__":
    main()
