"""Xception with Keras's layer names (including its unnamed residual convs) and weight files.

Example:
    >>> m = Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    >>> m.name, m.output_shape
    ('xception', (None, 3, 3, 2048))
"""

from __future__ import annotations

from typing import Any

from savepoint.applications import imagenet_utils as iu

_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _sep_bn(x: Any, filters: int, name: str) -> Any:
    from savepoint import layers
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=name + "_bn")(x)


def _residual(x: Any, filters: int) -> Any:
    from savepoint import layers
    # Keras leaves the residual conv/BN unnamed: they get auto names (conv2d, ...).
    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=-1)(r)


def Xception(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Any = None, pooling: Any = None, classes: int = 1000,
             classifier_activation: Any = "softmax") -> Any:
    """The Xception of ``keras.applications.Xception`` (preprocess: mode ``tf``; min 71x71).

    Example:
        >>> [l.name for l in Xception(weights=None, include_top=False,
        ...                           input_shape=(71, 71, 3)).layers][1:3]
        ['block1_conv1', 'block1_conv1_bn']
    """
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, 299, 71, "channels_last", include_top,
                                        weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    for block, filters in ((2, 128), (3, 256), (4, 728)):
        residual = _residual(x, filters)
        if block > 2:
            x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
        x = _sep_bn(x, filters, f"block{block}_sepconv1")
        x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
        x = _sep_bn(x, filters, f"block{block}_sepconv2")
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                                name=f"block{block}_pool")(x)
        x = layers.add([x, residual])
    for i in range(8):
        residual = x
        prefix = f"block{i + 5}"
        for j in (1, 2, 3):
            x = layers.Activation("relu", name=f"{prefix}_sepconv{j}_act")(x)
            x = _sep_bn(x, 728, f"{prefix}_sepconv{j}")
        x = layers.add([x, residual])
    residual = _residual(x, 1024)
    x = layers.Activation("relu", name="block13_sepconv1_act")(x)
    x = _sep_bn(x, 728, "block13_sepconv1")
    x = layers.Activation("relu", name="block13_sepconv2_act")(x)
    x = _sep_bn(x, 1024, "block13_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="block13_pool")(x)
    x = layers.add([x, residual])
    x = _sep_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights)
    model = Model(inputs, x, name="xception")
    tail = "" if include_top else "_notop"
    iu.load_weights(model, weights, "xception/",
                    f"xception_weights_tf_dim_ordering_tf_kernels{tail}.h5",
                    _HASHES[0 if include_top else 1])
    return model


preprocess_input = iu.preprocess_tf_mode  # as keras.applications.xception
decode_predictions = iu.decode_predictions
