"""ResNet50/101/152 and ResNet50V2/101V2/152V2 with Keras's layer names and weight files.

Example:
    >>> model = ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> [l.name for l in model.layers][1:3]
    ['conv1_pad', 'conv1_conv']
"""

from __future__ import annotations

from typing import Any, Callable

from savepoint.applications import imagenet_utils as iu

_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_EPS = 1.001e-5


def _block1(x: Any, filters: int, stride: int = 1, conv_shortcut: bool = True,
            name: str = "") -> Any:
    from savepoint import layers
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def _stack1(x: Any, filters: int, blocks: int, stride1: int = 2, name: str = "") -> Any:
    x = _block1(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = _block1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def _block2(x: Any, filters: int, stride: int = 1, conv_shortcut: bool = False,
            name: str = "") -> Any:
    from savepoint import layers
    preact = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_preact_bn")(x)
    preact = layers.Activation("relu", name=name + "_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(preact)
    else:
        # Keras leaves this pooling unnamed (so it gets an auto name).
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=name + "_1_conv")(preact)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=name + "_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    return layers.Add(name=name + "_out")([shortcut, x])


def _stack2(x: Any, filters: int, blocks: int, stride1: int = 2, name: str = "") -> Any:
    x = _block2(x, filters, conv_shortcut=True, name=name + "_block1")
    for i in range(2, blocks):
        x = _block2(x, filters, name=f"{name}_block{i}")
    return _block2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def ResNet(stack_fn: Callable[[Any], Any], preact: bool, use_bias: bool, model_name: str = "resnet",
           include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
           input_shape: Any = None, pooling: Any = None, classes: int = 1000,
           classifier_activation: Any = "softmax") -> Any:
    """The generic ResNet of ``keras.applications.resnet.ResNet``.

    Example:
        >>> m = ResNet(lambda x: _stack1(x, 8, 1, stride1=1, name="conv2"), False, True,
        ...            weights=None, include_top=False, input_shape=(32, 32, 3))
        >>> m.output_shape
        (None, 8, 8, 32)
    """
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                        data_format="channels_last",
                                        require_flatten=include_top, weights=weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=3, epsilon=_EPS, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=3, epsilon=_EPS, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = iu.classifier_top(x, include_top, pooling, classes, classifier_activation, weights,
                          named_pooling=True)
    model = Model(inputs, x, name=model_name)
    if weights == "imagenet" and model_name not in _HASHES:
        raise ConfigError_(model_name)
    suffix = "" if include_top else "_notop"
    iu.load_weights(model, weights, "resnet/",
                    f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                    _HASHES.get(model_name, ("", ""))[0 if include_top else 1])
    return model


def ConfigError_(name: str) -> Exception:
    from savepoint.errors import ConfigError
    return ConfigError(f"Expected a model with published ImageNet weights. Received: "
                       f"model_name={name!r}. Fix: pass weights=None or a path.")


def _v1(name: str, blocks: tuple[int, int, int, int]) -> Callable[..., Any]:
    def stack_fn(x: Any) -> Any:
        x = _stack1(x, 64, blocks[0], stride1=1, name="conv2")
        x = _stack1(x, 128, blocks[1], name="conv3")
        x = _stack1(x, 256, blocks[2], name="conv4")
        return _stack1(x, 512, blocks[3], name="conv5")
    return _wrap(stack_fn, False, True, name)


def _v2(name: str, blocks: tuple[int, int, int, int]) -> Callable[..., Any]:
    def stack_fn(x: Any) -> Any:
        x = _stack2(x, 64, blocks[0], name="conv2")
        x = _stack2(x, 128, blocks[1], name="conv3")
        x = _stack2(x, 256, blocks[2], name="conv4")
        return _stack2(x, 512, blocks[3], stride1=1, name="conv5")
    return _wrap(stack_fn, True, True, name)


def _wrap(stack_fn: Callable[[Any], Any], preact: bool, use_bias: bool,
          name: str) -> Callable[..., Any]:
    def builder(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: Any = None, classes: int = 1000,
                classifier_activation: Any = "softmax", **kwargs: Any) -> Any:
        if kwargs:
            from savepoint.errors import ConfigError
            raise ConfigError(f"Unknown argument(s): {kwargs}")
        return ResNet(stack_fn, preact, use_bias, name, include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation)
    return builder


ResNet50 = _v1("resnet50", (3, 4, 6, 3))
ResNet101 = _v1("resnet101", (3, 4, 23, 3))
ResNet152 = _v1("resnet152", (3, 8, 36, 3))
ResNet50V2 = _v2("resnet50v2", (3, 4, 6, 3))
ResNet101V2 = _v2("resnet101v2", (3, 4, 23, 3))
ResNet152V2 = _v2("resnet152v2", (3, 8, 36, 3))
for _f, _n in ((ResNet50, "ResNet50"), (ResNet101, "ResNet101"), (ResNet152, "ResNet152"),
               (ResNet50V2, "ResNet50V2"), (ResNet101V2, "ResNet101V2"),
               (ResNet152V2, "ResNet152V2")):
    _f.__name__ = _f.__qualname__ = _n
    _f.__doc__ = (f"The {_n} model of ``keras.applications.{_n}``; same arguments.\n\n"
                  f"    Example:\n        >>> {_n}(weights=None, include_top=False, "
                  f"input_shape=(32, 32, 3)).output_shape\n        (None, 1, 1, 2048)\n")


preprocess_input = iu.preprocess_caffe_mode  # as keras.applications.resnet
preprocess_input_v2 = iu.preprocess_tf_mode  # as keras.applications.resnet_v2
decode_predictions = iu.decode_predictions
