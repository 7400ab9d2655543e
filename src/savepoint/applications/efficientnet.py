"""EfficientNetB0-B7 with Keras's layer names ("block1a_dwconv" ...), the Rescaling and
Normalization stem, and Keras's weight files.

Example:
    >>> m = EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> m.name, m.output_shape
    ('efficientnetb0', (None, 1, 1, 1280))
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np

from savepoint.applications import imagenet_utils as iu
from savepoint.applications.mobilenet import correct_pad

_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
DEFAULT_BLOCKS_ARGS = [
    {"kernel_size": k, "repeats": r, "filters_in": fi, "filters_out": fo, "expand_ratio": e,
     "id_skip": True, "strides": s, "se_ratio": 0.25}
    for k, r, fi, fo, e, s in ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
                               (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1),
                               (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))]
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out",
                                       "distribution": "uniform"}}
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def _block(inputs: Any, activation: str, drop_rate: float, name: str, filters_in: int,
           filters_out: int, kernel_size: int, strides: int, expand_ratio: int, se_ratio: float,
           id_skip: bool) -> Any:
    from savepoint import layers
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=name + "expand_conv")(inputs)
        x = layers.BatchNormalization(axis=3, name=name + "expand_bn")(x)
        x = layers.Activation(activation, name=name + "expand_activation")(x)
    else:
        x = inputs
    if strides == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size), name=name + "dwconv_pad")(x)
        conv_pad = "valid"
    else:
        conv_pad = "same"
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding=conv_pad, use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=name + "dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=name + "bn")(x)
    x = layers.Activation(activation, name=name + "activation")(x)
    if 0 < se_ratio <= 1:
        filters_se = max(1, int(filters_in * se_ratio))
        se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
        se = layers.Reshape((1, 1, filters), name=name + "se_reshape")(se)
        se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=name + "se_reduce")(se)
        se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=name + "se_expand")(se)
        x = layers.multiply([x, se], name=name + "se_excite")
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=name + "project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=name + "project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = layers.add([x, inputs], name=name + "add")
    return x


def EfficientNet(width_coefficient: float, depth_coefficient: float, default_size: int,
                 dropout_rate: float = 0.2, drop_connect_rate: float = 0.2,
                 depth_divisor: int = 8, activation: str = "swish",
                 blocks_args: Any = "default", model_name: str = "efficientnet",
                 include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                 input_shape: Any = None, pooling: Any = None, classes: int = 1000,
                 classifier_activation: Any = "softmax") -> Any:
    """The generic EfficientNet of ``keras.applications.efficientnet.EfficientNet``.

    Example:
        >>> EfficientNet(0.1, 0.1, 32, weights=None, include_top=False,
        ...              input_shape=(32, 32, 3)).name
        'efficientnet'
    """
    from savepoint import layers
    from savepoint.models import Model
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, default_size, 32, "channels_last",
                                        include_top, weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)

    def round_filters(filters: float) -> int:
        filters *= width_coefficient
        new = max(depth_divisor, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor)
        return int(new + depth_divisor if new < 0.9 * filters else new)

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth_coefficient * repeats))

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=3)(x)
    if weights == "imagenet":
        # tf.keras multiplies a symbolic tensor here (saved as a TFOpLambda
        # "tf.math.multiply"): the published Normalization variance is std, not std**2.
        x = x * np.reshape([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB],
                           (1, 1, 1, 3)).astype("float32")
    x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)
    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(round_repeats(a["repeats"]) for a in blocks_args))
    for i, args in enumerate(blocks_args):
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = _block(x, activation, drop_connect_rate * b / blocks,
                       name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1
    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                          named_pooling=True, dropout=dropout_rate,
                          kernel_initializer=DENSE_KERNEL_INITIALIZER)
    model = Model(inputs, x, name=model_name)
    if weights == "imagenet" and model_name[-2:] not in _HASHES:
        from savepoint.errors import ConfigError
        raise ConfigError(f"Expected an EfficientNetB0-B7 model_name for imagenet weights. "
                          f"Received: model_name={model_name!r}. Fix: pass weights=None or a "
                          "path.")
    tail = ".h5" if include_top else "_notop.h5"
    iu.load_weights(model, weights, "", model_name + tail,
                    _HASHES.get(model_name[-2:], ("", ""))[0 if include_top else 1],
                    base="EFFICIENTNET_WEIGHTS_URL")
    return model


_PARAMS = {"B0": (1.0, 1.0, 224, 0.2), "B1": (1.0, 1.1, 240, 0.2), "B2": (1.1, 1.2, 260, 0.3),
           "B3": (1.2, 1.4, 300, 0.3), "B4": (1.4, 1.8, 380, 0.4), "B5": (1.6, 2.2, 456, 0.4),
           "B6": (1.8, 2.6, 528, 0.5), "B7": (2.0, 3.1, 600, 0.5)}


def _builder(variant: str) -> Callable[..., Any]:
    w, d, size, drop = _PARAMS[variant]

    def build(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: Any = None, classes: int = 1000,
              classifier_activation: Any = "softmax", **kwargs: Any) -> Any:
        return EfficientNet(w, d, size, drop, model_name=f"efficientnet{variant.lower()}",
                            include_top=include_top, weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, **kwargs)
    public = f"EfficientNet{variant}"
    # B1-B7 take seconds each to build; B0's example runs in the suite and shows the call
    skip = "  # doctest: +SKIP" if variant != "B0" else ""
    build.__name__ = build.__qualname__ = public
    build.__doc__ = (f"The {public} of ``keras.applications.{public}`` (expects [0, 255] "
                     f"inputs; ``preprocess_input`` is the identity).\n\n    Example:\n"
                     f"        >>> {public}(weights=None, include_top=False, "
                     f"input_shape=(32, 32, 3)).name{skip}\n"
                     f"        'efficientnet{variant.lower()}'\n")
    return build


EfficientNetB0 = _builder("B0")
EfficientNetB1 = _builder("B1")
EfficientNetB2 = _builder("B2")
EfficientNetB3 = _builder("B3")
EfficientNetB4 = _builder("B4")
EfficientNetB5 = _builder("B5")
EfficientNetB6 = _builder("B6")
EfficientNetB7 = _builder("B7")


preprocess_input = iu.preprocess_identity  # the model rescales inside, as in Keras
decode_predictions = iu.decode_predictions
