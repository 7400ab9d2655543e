"""MobileNet (v1) and MobileNetV2 with Keras's layer names, ``alpha``/``depth_multiplier``
arguments and ImageNet weight files.

Example:
    >>> m = MobileNet(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.25)
    >>> m.name, m.output_shape
    ('mobilenet_0.25_32', (None, 1, 1, 256))
"""

from __future__ import annotations

import logging
from typing import Any

from savepoint.applications import imagenet_utils as iu
from savepoint.errors import ConfigError

_V1_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}
_V2_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)


def _default_size(input_shape: Any, sizes: tuple[int, ...]) -> int:
    if input_shape is None:
        return 224
    rows, cols = input_shape[0], input_shape[1]
    return rows if rows == cols and rows in sizes else 224


def MobileNet(input_shape: Any = None, alpha: float = 1.0, depth_multiplier: int = 1,
              dropout: float = 1e-3, include_top: bool = True, weights: Any = "imagenet",
              input_tensor: Any = None, pooling: Any = None, classes: int = 1000,
              classifier_activation: Any = "softmax", **kwargs: Any) -> Any:
    """The MobileNet of ``keras.applications.MobileNet`` (preprocess: mode ``tf``).

    Example:
        >>> [l.name for l in MobileNet(weights=None, include_top=False,
        ...                            input_shape=(32, 32, 3)).layers][1:4]
        ['conv1', 'conv1_bn', 'conv1_relu']
    """
    from savepoint import layers
    from savepoint.models import Model
    if kwargs:
        raise ConfigError(f"Unknown argument(s): {(kwargs,)}")
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, _default_size(input_shape,
                                                                   (128, 160, 192, 224)),
                                        32, "channels_last", include_top, weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ConfigError("If imagenet weights are being loaded, depth multiplier must be "
                              f"1.  Received depth_multiplier={depth_multiplier}")
        if alpha not in _V1_ALPHAS:
            raise ConfigError("If imagenet weights are being loaded, alpha can be one of"
                              f"`0.25`, `0.50`, `0.75` or `1.0` only.  Received alpha={alpha}")
        if rows != cols or rows not in (128, 160, 192, 224):
            rows = 224
            logging.warning("`input_shape` is undefined or non-square, or `rows` is not in "
                            "[128, 160, 192, 224]. Weights for input shape (224, 224) will be "
                            "loaded as the default.")
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [
        (1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, 1):
        x = _depthwise_block(x, filters, alpha, depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        iu.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = iu.pooled_features(x, pooling)
    model = Model(inputs, x, name=f"mobilenet_{alpha:0.2f}_{rows}")
    if weights == "imagenet":
        tail = "" if include_top else "_no_top"
        iu.load_weights(model, weights, "mobilenet/",
                        f"mobilenet_{_V1_ALPHAS[alpha]}_{rows}_tf{tail}.h5", None)
    else:
        iu.load_weights(model, weights, "", "", None)
    return model


def _depthwise_block(x: Any, filters: int, alpha: float, depth_multiplier: int, stride: int,
                     block_id: int) -> Any:
    from savepoint import layers
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(stride, stride),
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count as Keras's ``_make_divisible`` (never down by more than 10%).

    Example:
        >>> make_divisible(32 * 0.35, 8)
        16
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def correct_pad(x: Any, kernel_size: int | tuple[int, int]) -> tuple:
    """The asymmetric ZeroPadding2D that Keras puts before a stride-2 'valid' convolution.

    Example:
        >>> import savepoint as keras
        >>> correct_pad(keras.Input((32, 32, 3)), 3)
        ((0, 1), (0, 1))
    """
    size = tuple(x.shape)[1:3]
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    c = (k[0] // 2, k[1] // 2)
    return ((c[0] - adjust[0], c[0]), (c[1] - adjust[1], c[1]))


def MobileNetV2(input_shape: Any = None, alpha: float = 1.0, include_top: bool = True,
                weights: Any = "imagenet", input_tensor: Any = None, pooling: Any = None,
                classes: int = 1000, classifier_activation: Any = "softmax",
                **kwargs: Any) -> Any:
    """The MobileNetV2 of ``keras.applications.MobileNetV2`` (preprocess: mode ``tf``).

    Example:
        >>> MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 1280)
    """
    from savepoint import layers
    from savepoint.models import Model
    if kwargs:
        raise ConfigError(f"Unknown argument(s): {kwargs}")
    iu.validate_arguments(weights, include_top, classes, pooling)
    if input_shape is None and input_tensor is not None:
        shape = tuple(input_tensor.shape)[1:]
        default = _default_size(shape, (96, 128, 160, 192, 224))
    else:
        default = _default_size(input_shape, (96, 128, 160, 192, 224))
    input_shape = iu.obtain_input_shape(input_shape, default, 32, "channels_last", include_top,
                                        weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if alpha not in _V2_ALPHAS:
            raise ConfigError("If imagenet weights are being loaded, alpha must be one of "
                              "`0.35`, `0.50`, `0.75`, `1.0`, `1.3` or `1.4` only; Received "
                              f"`alpha={alpha}`")
        if rows != cols or rows not in (96, 128, 160, 192, 224):
            rows = 224
            logging.warning("`input_shape` is undefined or non-square, or `rows` is not in "
                            "[96, 128, 160, 192, 224]. Weights for input shape (224, 224) will "
                            "be loaded as the default.")
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    plan = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
            (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
            (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]
    for block_id, (filters, stride, expansion) in enumerate(plan):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id)
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                          pool_name=None)
    model = Model(inputs, x, name=f"mobilenetv2_{alpha:0.2f}_{rows}")
    tail = "" if include_top else "_no_top"
    iu.load_weights(model, weights, "mobilenet_v2/",
                    f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                    f"{tail}.h5", None)
    return model


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int,
                        block_id: int) -> Any:
    from savepoint import layers
    in_channels = tuple(inputs.shape)[-1]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                          activation=None, name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                      name=prefix + "expand_BN")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


preprocess_input = iu.preprocess_tf_mode  # as keras.applications.mobilenet(_v2)
decode_predictions = iu.decode_predictions
