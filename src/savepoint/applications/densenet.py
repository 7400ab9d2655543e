"""DenseNet121/169/201 with Keras's layer names ("conv2_block1_0_bn" ...) and weight files.

Example:
    >>> m = DenseNet121(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> m.name, m.output_shape
    ('densenet121', (None, 1, 1, 1024))
"""

from __future__ import annotations

from typing import Any, Callable

from savepoint.applications import imagenet_utils as iu

_EPS = 1.001e-5
_NAMES = {(6, 12, 24, 16): "densenet121", (6, 12, 32, 32): "densenet169",
          (6, 12, 48, 32): "densenet201"}
_HASHES = {"densenet121": ("9d60b8095a5708f2dcce2bca79d332c7",
                           "30ee3e1110167f948a6b9946edeeb738"),
           "densenet169": ("d699b8f76981ab1b30698df4c175e90b",
                           "b8c4d4c20dd625c148057b9ff1c1176b"),
           "densenet201": ("1ceb130c1ea1b78c3bf6114dbdfd8807",
                           "c13680b51ded0fb44dff2d8f86ac8bb1")}


def _conv_block(x: Any, growth_rate: int, name: str) -> Any:
    from savepoint import layers
    x1 = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_0_bn")(x)
    x1 = layers.Activation("relu", name=name + "_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=name + "_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_1_bn")(x1)
    x1 = layers.Activation("relu", name=name + "_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                       name=name + "_2_conv")(x1)
    return layers.Concatenate(axis=3, name=name + "_concat")([x, x1])


def _transition_block(x: Any, reduction: float, name: str) -> Any:
    from savepoint import layers
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_bn")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    x = layers.Conv2D(int(tuple(x.shape)[3] * reduction), 1, use_bias=False,
                      name=name + "_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


def DenseNet(blocks: Any, include_top: bool = True, weights: Any = "imagenet",
             input_tensor: Any = None, input_shape: Any = None, pooling: Any = None,
             classes: int = 1000, classifier_activation: Any = "softmax") -> Any:
    """The generic DenseNet of ``keras.applications.densenet.DenseNet`` (4 dense blocks).

    Example:
        >>> DenseNet([1, 1, 1, 1], weights=None, include_top=False,
        ...          input_shape=(32, 32, 3)).name
        'densenet'
    """
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, 224, 32, "channels_last", include_top,
                                        weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1/conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name="conv1/bn")(x)
    x = layers.Activation("relu", name="conv1/relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, n in enumerate(blocks, 2):
        for i in range(n):
            x = _conv_block(x, 32, name=f"conv{stage}_block{i + 1}")
        if stage < 5:
            x = _transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                          named_pooling=True)
    name = _NAMES.get(tuple(blocks), "densenet")
    model = Model(inputs, x, name=name)
    if weights == "imagenet" and name == "densenet":
        from savepoint.errors import ConfigError
        raise ConfigError(f"Expected blocks of DenseNet121/169/201 for imagenet weights. "
                          f"Received: blocks={list(blocks)}. Fix: pass weights=None or a path.")
    tail = "" if include_top else "_notop"
    iu.load_weights(model, weights, "densenet/",
                    f"{name}_weights_tf_dim_ordering_tf_kernels{tail}.h5",
                    _HASHES.get(name, ("", ""))[0 if include_top else 1])
    return model


def _builder(blocks: tuple[int, ...], public: str) -> Callable[..., Any]:
    def build(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: Any = None, classes: int = 1000,
              classifier_activation: Any = "softmax") -> Any:
        return DenseNet(list(blocks), include_top, weights, input_tensor, input_shape, pooling,
                        classes, classifier_activation)
    build.__name__ = build.__qualname__ = public
    build.__doc__ = (f"The {public} of ``keras.applications.{public}``.\n\n    Example:\n"
                     f"        >>> {public}(weights=None, include_top=False, "
                     f"input_shape=(32, 32, 3)).name\n        '{public.lower()}'\n")
    return build


DenseNet121 = _builder((6, 12, 24, 16), "DenseNet121")
DenseNet169 = _builder((6, 12, 32, 32), "DenseNet169")
DenseNet201 = _builder((6, 12, 48, 32), "DenseNet201")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Torch-mode preprocessing ([0, 1] then ImageNet mean/std), as ``keras.applications.densenet``.

    Example:
        >>> import numpy as np
        >>> round(float(preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0, 0]), 4)
        -2.1179
    """
    return iu.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = iu.decode_predictions
