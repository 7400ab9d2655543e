"""VGG16 and VGG19 with Keras's layer names, arguments and ImageNet weight files.

Example:
    >>> model = VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> [l.name for l in model.layers][1:3]
    ['block1_conv1', 'block1_conv2']
"""

from __future__ import annotations

from typing import Any

from savepoint.applications import imagenet_utils as iu

_HASHES = {"vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
           "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")}
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def _vgg(name: str, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
         pooling: Any, classes: int, classifier_activation: Any) -> Any:
    from savepoint import layers
    from savepoint.models import Model
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                        data_format="channels_last",
                                        require_flatten=include_top, weights=weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), _BLOCKS[name]), 1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = iu.predictions(x, classes, classifier_activation, weights)
    else:
        x = iu.pooled_features(x, pooling)
    model = Model(inputs, x, name=name)
    suffix = "" if include_top else "_notop"
    iu.load_weights(model, weights, "vgg16/" if name == "vgg16" else "vgg19/",
                    f"{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                    _HASHES[name][0 if include_top else 1])
    return model


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
          input_shape: Any = None, pooling: Any = None, classes: int = 1000,
          classifier_activation: Any = "softmax") -> Any:
    """The VGG16 model of ``keras.applications.VGG16`` (preprocess with ``preprocess_input``).

    Example:
        >>> VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 512)
    """
    return _vgg("vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation)


def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
          input_shape: Any = None, pooling: Any = None, classes: int = 1000,
          classifier_activation: Any = "softmax") -> Any:
    """The VGG19 model of ``keras.applications.VGG19``.

    Example:
        >>> len(VGG19(weights=None, include_top=False, input_shape=(32, 32, 3)).layers)
        22
    """
    return _vgg("vgg19", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation)


preprocess_input = iu.preprocess_caffe_mode  # as keras.applications.vgg16/vgg19
decode_predictions = iu.decode_predictions
