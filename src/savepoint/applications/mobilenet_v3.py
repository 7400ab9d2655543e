"""MobileNetV3Small/Large with Keras's layer names: hard_sigmoid is tf.keras's
``ReLU(6.)(x + 3.) * (1. / 6.)`` built from symbolic arithmetic (TFOpLambda layers in .h5).

Example:
    >>> m = MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> m.name, m.output_shape
    ('MobilenetV3small', (None, 1, 1, 576))
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from savepoint.applications import imagenet_utils as iu
from savepoint.applications.mobilenet import correct_pad, make_divisible
from savepoint.errors import ConfigError

_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}


def _depth(v: float, divisor: int = 8) -> int:
    return make_divisible(v, divisor)


def relu(x: Any) -> Any:
    """``layers.ReLU()(x)`` (auto-named, as in Keras).

    Example:
        >>> import savepoint as keras
        >>> relu(keras.Input((2,))).shape
        (None, 2)
    """
    from savepoint import layers
    return layers.ReLU()(x)


def hard_sigmoid(x: Any) -> Any:
    """Keras's ``ReLU(6.)(x + 3.) * (1. / 6.)`` on symbolic tensors.

    Example:
        >>> import savepoint as keras
        >>> hard_sigmoid(keras.Input((2,))).shape
        (None, 2)
    """
    from savepoint import layers
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x: Any) -> Any:
    """Keras's ``Multiply()([x, hard_sigmoid(x)])``.

    Example:
        >>> import savepoint as keras
        >>> hard_swish(keras.Input((2,))).shape
        (None, 2)
    """
    from savepoint import layers
    return layers.Multiply()([x, hard_sigmoid(x)])


def _se_block(inputs: Any, filters: int, se_ratio: float, prefix: str) -> Any:
    from savepoint import layers
    x = layers.GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite/AvgPool")(
        inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=prefix + "squeeze_excite/Conv")(x)
    x = layers.ReLU(name=prefix + "squeeze_excite/Relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=prefix + "squeeze_excite/Conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=prefix + "squeeze_excite/Mul")([inputs, x])


def _inverted_res_block(x: Any, expansion: float, filters: int, kernel_size: int, stride: int,
                        se_ratio: float | None, activation: Callable[[Any], Any],
                        block_id: int) -> Any:
    from savepoint import layers
    shortcut = x
    prefix = "expanded_conv/"
    infilters = tuple(x.shape)[-1]
    if block_id:
        prefix = f"expanded_conv_{block_id}/"
        x = layers.Conv2D(_depth(infilters * expansion), kernel_size=1, padding="same",
                          use_bias=False, name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                      name=prefix + "expand/BatchNorm")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size),
                                 name=prefix + "depthwise/pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "depthwise/BatchNorm")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name=prefix + "project/BatchNorm")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=prefix + "Add")([shortcut, x])
    return x


def MobileNetV3(stack_fn: Callable[..., Any], last_point_ch: int, input_shape: Any = None,
                alpha: float = 1.0, model_type: str = "large", minimalistic: bool = False,
                include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                classes: int = 1000, pooling: Any = None, dropout_rate: float = 0.2,
                classifier_activation: Any = "softmax",
                include_preprocessing: bool = True) -> Any:
    """The generic MobileNetV3 of ``keras.applications.mobilenet_v3.MobileNetV3``.

    Example:
        >>> MobileNetV3(lambda x, k, a, s: x, 64, (32, 32, 3), weights=None,
        ...             include_top=False).output_shape
        (None, 16, 16, 96)
    """
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    if input_shape is None and input_tensor is not None:
        rows, cols = tuple(input_tensor.shape)[1:3]
        input_shape = (cols, rows, 3)
    if input_shape is None:
        input_shape = (None, None, 3)
    rows, cols = input_shape[0], input_shape[1]
    if rows and cols and (rows < 32 or cols < 32):
        raise ConfigError("Input size must be at least 32x32; Received `input_shape="
                          f"{input_shape}`")
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ConfigError("If imagenet weights are being loaded, alpha can be one of "
                              "`0.75`, `1.0` for non minimalistic or `1.0` for minimalistic "
                              f"only. Received: alpha={alpha}")
        if rows != cols or rows != 224:
            logging.warning("`input_shape` is undefined or non-square, or `rows` is not 224. "
                            "Weights for input shape (224, 224) will be loaded as the default.")
    img_input, inputs = iu.model_input(input_tensor, tuple(input_shape))
    if minimalistic:
        kernel, activation, se_ratio = 3, relu, None
    else:
        kernel, activation, se_ratio = 5, hard_swish, 0.25
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name="Conv/BatchNorm")(x)
    x = activation(x)
    x = stack_fn(x, kernel, activation, se_ratio)
    last_conv_ch = _depth(tuple(x.shape)[-1] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False,
                      name="Conv_1")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name="Conv_1/BatchNorm")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True,
                          name="Conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="Logits")(x)
        x = layers.Flatten()(x)
        iu.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="Predictions")(x)
    else:
        x = iu.pooled_features(x, pooling, named=True)
    model = Model(inputs, x, name="MobilenetV3" + model_type)
    key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    tail = ".h5" if include_top else "_no_top_v2.h5"
    iu.load_weights(model, weights, "mobilenet_v3/", f"weights_mobilenet_v3_{key}{tail}",
                    _HASHES.get(key, ("", ""))[0 if include_top else 1])
    return model


_SMALL = [(1, 16, 3, 2, True, "relu"), (72.0 / 16, 24, 3, 2, False, "relu"),
          (88.0 / 24, 24, 3, 1, False, "relu"), (4, 40, None, 2, True, "act"),
          (6, 40, None, 1, True, "act"), (6, 40, None, 1, True, "act"),
          (3, 48, None, 1, True, "act"), (3, 48, None, 1, True, "act"),
          (6, 96, None, 2, True, "act"), (6, 96, None, 1, True, "act"),
          (6, 96, None, 1, True, "act")]
_LARGE = [(1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"),
          (3, 24, 3, 1, False, "relu"), (3, 40, None, 2, True, "relu"),
          (3, 40, None, 1, True, "relu"), (3, 40, None, 1, True, "relu"),
          (6, 80, 3, 2, False, "act"), (2.5, 80, 3, 1, False, "act"),
          (2.3, 80, 3, 1, False, "act"), (2.3, 80, 3, 1, False, "act"),
          (6, 112, 3, 1, True, "act"), (6, 112, 3, 1, True, "act"),
          (6, 160, None, 2, True, "act"), (6, 160, None, 1, True, "act"),
          (6, 160, None, 1, True, "act")]


def _stack(plan: list, alpha: float) -> Callable[..., Any]:
    # kernel None = the model's kernel (5, or 3 when minimalistic); se True = the model's ratio.
    def stack_fn(x: Any, kernel: int, activation: Callable[[Any], Any],
                 se_ratio: float | None) -> Any:
        for block_id, (exp, filters, k, stride, se, act) in enumerate(plan):
            x = _inverted_res_block(x, exp, _depth(filters * alpha), kernel if k is None else k,
                                    stride, se_ratio if se else None,
                                    relu if act == "relu" else activation, block_id)
        return x
    return stack_fn


def MobileNetV3Small(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet",
                     input_tensor: Any = None, classes: int = 1000, pooling: Any = None,
                     dropout_rate: float = 0.2, classifier_activation: Any = "softmax",
                     include_preprocessing: bool = True) -> Any:
    """The MobileNetV3Small of ``keras.applications.MobileNetV3Small``.

    Example:
        >>> MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=5).output_shape
        (None, 5)
    """
    return MobileNetV3(_stack(_SMALL, alpha), 1024, input_shape, alpha, "small", minimalistic,
                       include_top, weights, input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing)


def MobileNetV3Large(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet",
                     input_tensor: Any = None, classes: int = 1000, pooling: Any = None,
                     dropout_rate: float = 0.2, classifier_activation: Any = "softmax",
                     include_preprocessing: bool = True) -> Any:
    """The MobileNetV3Large of ``keras.applications.MobileNetV3Large``.

    Example:
        >>> MobileNetV3Large(weights=None, include_top=False, input_shape=(32, 32, 3)).name
        'MobilenetV3large'
    """
    return MobileNetV3(_stack(_LARGE, alpha), 1280, input_shape, alpha, "large", minimalistic,
                       include_top, weights, input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing)


preprocess_input = iu.preprocess_identity  # the model rescales inside, as in Keras
decode_predictions = iu.decode_predictions
