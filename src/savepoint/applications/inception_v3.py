"""InceptionV3 with Keras's layer names (auto-named conv/BN/activation, "mixed0".."mixed10").

Example:
    >>> m = InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    >>> m.name, m.output_shape
    ('inception_v3', (None, 1, 1, 2048))
"""

from __future__ import annotations

from typing import Any

from savepoint.applications import imagenet_utils as iu

_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same",
              strides: tuple[int, int] = (1, 1), name: str | None = None) -> Any:
    """Conv2D (no bias) + BatchNormalization(scale=False) + relu, as Keras's ``conv2d_bn``.

    Example:
        >>> import savepoint as keras
        >>> conv2d_bn(keras.Input((8, 8, 3)), 4, 3, 3).shape
        (None, 8, 8, 4)
    """
    from savepoint import layers
    bn_name = None if name is None else name + "_bn"
    conv_name = None if name is None else name + "_conv"
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding,
                      use_bias=False, name=conv_name)(x)
    x = layers.BatchNormalization(axis=3, scale=False, name=bn_name)(x)
    return layers.Activation("relu", name=name)(x)


def _avg_branch(x: Any, filters: int) -> Any:
    from savepoint import layers
    b = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(b, filters, 1, 1)


def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: Any = None, classes: int = 1000,
                classifier_activation: Any = "softmax") -> Any:
    """The InceptionV3 of ``keras.applications.InceptionV3`` (preprocess: mode ``tf``;
    min 75x75).

    Example:
        >>> len(InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3)).layers)
        311
    """
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, 299, 75, "channels_last", include_top,
                                        weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    cat = layers.concatenate
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        b1 = conv2d_bn(x, 64, 1, 1)
        b5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
        b3 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        bp = _avg_branch(x, pool_filters)
        x = cat([b1, b5, b3, bp], axis=3, name=f"mixed{i}")
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=(2, 2),
                   padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = cat([b3, bd, bp], axis=3, name="mixed3")
    for name, c in (("mixed4", 128), ("mixed5", 160), ("mixed6", 160), ("mixed7", 192)):
        b1 = conv2d_bn(x, 192, 1, 1)
        b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, c, 1, 1), c, 1, 7), 192, 7, 1)
        bd = conv2d_bn(x, c, 1, 1)
        bd = conv2d_bn(conv2d_bn(conv2d_bn(conv2d_bn(bd, c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7)
        bp = _avg_branch(x, 192)
        x = cat([b1, b7, bd, bp], axis=3, name=name)
    b3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = cat([b3, b7, bp], axis=3, name="mixed8")
    for i in range(2):
        b1 = conv2d_bn(x, 320, 1, 1)
        b3 = conv2d_bn(x, 384, 1, 1)
        b3 = cat([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)], axis=3,
                 name=f"mixed9_{i}")
        bd = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
        bd = cat([conv2d_bn(bd, 384, 1, 3), conv2d_bn(bd, 384, 3, 1)], axis=3)
        bp = _avg_branch(x, 192)
        x = cat([b1, b3, bd, bp], axis=3, name=f"mixed{9 + i}")
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights)
    model = Model(inputs, x, name="inception_v3")
    tail = "" if include_top else "_notop"
    iu.load_weights(model, weights, "inception_v3/",
                    f"inception_v3_weights_tf_dim_ordering_tf_kernels{tail}.h5",
                    _HASHES[0 if include_top else 1])
    return model


preprocess_input = iu.preprocess_tf_mode  # as keras.applications.inception_v3
decode_predictions = iu.decode_predictions
