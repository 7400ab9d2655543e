"""ImageNet helpers shared by the applications: ``preprocess_input`` (caffe/tf/torch modes),
``decode_predictions``, input-shape and argument validation, the classifier top, and loading of
Keras's weights.

Mirrors ``keras.applications.imagenet_utils`` of tf.keras 2 (channels-last only).

Example:
    >>> import numpy as np
    >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import ConfigError

CLASS_INDEX: dict | None = None
CLASS_INDEX_PATH = ("https://storage.googleapis.com/download.tensorflow.org/"
                    "data/imagenet_class_index.json")
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

_MEANS = {"torch": [0.485, 0.456, 0.406], "caffe": [103.939, 116.779, 123.68]}
_STD = [0.229, 0.224, 0.225]


def _check_format(mode: str, data_format: str | None) -> str:
    if mode not in ("caffe", "tf", "torch"):
        raise ConfigError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                          f"Received: mode={mode}")
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_first", "channels_last"):
        raise ConfigError("Expected data_format to be one of `channels_first` or "
                          f"`channels_last`. Received: data_format={data_format}")
    return data_format


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocess a batch of images (numpy array or torch tensor, values in [0, 255]) as
    ``keras.applications.imagenet_utils.preprocess_input``.

    ``caffe``: RGB to BGR, then subtract the ImageNet channel means; ``tf``: scale to [-1, 1];
    ``torch``: scale to [0, 1] and normalise with ImageNet mean/std. A float numpy array is
    modified in place, as in Keras.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.zeros((1, 1, 1, 3)), mode="caffe")[0, 0, 0].round(3).tolist()
        [-103.939, -116.779, -123.68]
    """
    data_format = _check_format(mode, data_format)
    if isinstance(x, np.ndarray):
        if not issubclass(x.dtype.type, np.floating):
            x = x.astype("float32", copy=False)
    elif isinstance(x, torch.Tensor):
        x = x.float() if not x.is_floating_point() else x
    else:
        # Other objects (symbolic tensors) go through their own arithmetic, as in Keras.
        pass
    if mode == "tf":
        x = x / 127.5 if not isinstance(x, np.ndarray) else x
        if isinstance(x, np.ndarray):
            x /= 127.5
            x -= 1.0
            return x
        return x - 1.0
    channel_axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if mode == "torch":
        x = x / 255.0 if not isinstance(x, np.ndarray) else x
        if isinstance(x, np.ndarray):
            x /= 255.0
        std = _STD
    else:
        x = _flip_channels(x, channel_axis)
        std = None
    mean = _MEANS[mode]
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    if isinstance(x, np.ndarray):
        x -= np.asarray(mean, dtype=x.dtype).reshape(shape)
        if std is not None:
            x /= np.asarray(std, dtype=x.dtype).reshape(shape)
        return x
    x = x - torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    if std is not None:
        x = x / torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    return x


def _flip_channels(x: Any, axis: int) -> Any:
    if isinstance(x, np.ndarray):
        index = [slice(None)] * x.ndim
        index[axis] = slice(None, None, -1)
        return x[tuple(index)]
    return torch.flip(x, dims=[axis])


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple]]:
    """Decode a (samples, 1000) batch of ImageNet predictions into lists of
    ``(class_name, class_description, score)``, best first, as Keras.

    The class index JSON is fetched once with ``savepoint.utils.get_file`` (cached under
    ``models/``); offline, that raises ``StorageError`` naming the URL and the cache path.

    Example:
        >>> import numpy as np
        >>> decode_predictions(np.eye(1, 1000), top=1)  # doctest: +SKIP
        [[('n01440764', 'tench', 1.0)]]
    """
    global CLASS_INDEX
    preds = np.asarray(preds.detach().cpu() if isinstance(preds, torch.Tensor) else preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ConfigError("`decode_predictions` expects a batch of predictions (i.e. a 2D "
                          "array of shape (samples, 1000)). Found array with shape: "
                          f"{preds.shape}")
    if CLASS_INDEX is None:
        from savepoint.utils import get_file
        fpath = get_file("imagenet_class_index.json", CLASS_INDEX_PATH, cache_subdir="models",
                         file_hash=CLASS_INDEX_HASH)
        with open(fpath) as f:
            CLASS_INDEX = json.load(f)
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape: tuple | None, default_size: int, min_size: int,
                       data_format: str, require_flatten: bool,
                       weights: str | None = None) -> tuple:
    """Compute/validate a model's input shape exactly as Keras's ``obtain_input_shape``.

    Example:
        >>> obtain_input_shape(None, 224, 32, "channels_last", True)
        (224, 224, 3)
    """
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if input_shape[-1] not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {input_shape[-1]} input channels.",
                          stacklevel=3)
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ConfigError("When setting `include_top=True` and loading `imagenet` weights, "
                              f"`input_shape` should be {default_shape}.  Received: "
                              f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ConfigError("`input_shape` must be a tuple of three integers. Received: "
                              f"input_shape={input_shape}")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise ConfigError("The input must have 3 channels; Received "
                              f"`input_shape={input_shape}`")
        if ((input_shape[0] is not None and input_shape[0] < min_size)
                or (input_shape[1] is not None and input_shape[1] < min_size)):
            raise ConfigError(f"Input size must be at least {min_size}x{min_size}; Received: "
                              f"input_shape={input_shape}")
    else:
        input_shape = (None, None, 3) if not require_flatten else default_shape
    if require_flatten and None in tuple(input_shape):
        raise ConfigError("If `include_top` is True, you should specify a static "
                          f"`input_shape`. Received: input_shape={input_shape}")
    return tuple(input_shape)


def validate_activation(classifier_activation: Any, weights: str | None) -> None:
    """Only ``None`` and ``softmax`` may top a model with pretrained weights, as in Keras.

    Example:
        >>> validate_activation("softmax", "imagenet")
    """
    if weights is None:
        return
    if classifier_activation not in (None, "softmax", "linear"):
        from savepoint import activations
        if classifier_activation not in (activations.get("softmax"), activations.get(None)):
            raise ConfigError("Only `None` and `softmax` activations are allowed for the "
                              "`classifier_activation` argument when using pretrained weights, "
                              "with `include_top=True`; Received: "
                              f"classifier_activation={classifier_activation}")


def validate_arguments(weights: Any, include_top: bool, classes: int, pooling: Any) -> None:
    """Keras's checks on ``weights``, ``classes`` and ``pooling`` shared by every builder.

    Example:
        >>> validate_arguments(None, True, 10, None)
    """
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike))
                                              and os.path.exists(weights))):
        raise ConfigError("The `weights` argument should be either `None` (random "
                          "initialization), `imagenet` (pre-training on ImageNet), or the path "
                          f"to the weights file to be loaded. Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ConfigError('If using `weights` as `"imagenet"` with `include_top` as true, '
                          f"`classes` should be 1000. Received: classes={classes}")
    if pooling not in (None, "avg", "max"):
        raise ConfigError("Expected `pooling` to be None, 'avg' or 'max'. Received: "
                          f"pooling={pooling!r}")


def model_input(input_tensor: Any, input_shape: tuple) -> tuple[Any, Any]:
    """The image input of a builder, and the model inputs (``input_tensor``'s sources).

    Example:
        >>> model_input(None, (32, 32, 3))[0].shape
        (None, 32, 32, 3)
    """
    from savepoint import layers
    if input_tensor is None:
        img = layers.Input(shape=input_shape)
        return img, img
    if not hasattr(input_tensor, "_keras_history") and not _is_keras_tensor(input_tensor):
        raise ConfigError("Expected `input_tensor` to be a symbolic tensor from "
                          f"`keras.Input(...)`. Received: {type(input_tensor).__name__}.")
    return input_tensor, _source_inputs(input_tensor)


def _is_keras_tensor(x: Any) -> bool:
    from savepoint.layers import KerasTensor
    return isinstance(x, KerasTensor)


def _source_inputs(x: Any) -> Any:
    """The ``Input`` tensors ``x`` was computed from (Keras's ``get_source_inputs``): a builder
    given an intermediate tensor builds its model from the original inputs."""
    from savepoint.layers import InputLayer
    sources: list = []
    seen: set = set()
    stack = [x]
    while stack:
        t = stack.pop()
        history = getattr(t, "_history", None)
        if history is None or isinstance(history[0], InputLayer):
            if id(t) not in seen:
                seen.add(id(t))
                sources.append(t)
            continue
        layer, node_index, _ = history
        stack.extend(reversed(layer._inbound_nodes[node_index].input_tensors))
    return sources[0] if len(sources) == 1 else sources


def pooled_features(x: Any, pooling: Any, named: bool = False) -> Any:
    """The end of a builder without its top: global average (``"avg"``) or max (``"max"``)
    pooling, or ``x`` itself. Some Keras builders (ResNet, DenseNet, EfficientNet, MobileNetV3)
    name these layers ``avg_pool``/``max_pool``; the others leave them to auto names.

    Example:
        >>> from savepoint import layers
        >>> pooled_features(layers.Input((4, 4, 3)), "max", named=True).shape
        (None, 3)
    """
    from savepoint import layers
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named else None)(x)
    return x


def predictions(x: Any, classes: int, classifier_activation: Any, weights: Any,
                **dense_kwargs: Any) -> Any:
    """Keras's ``predictions`` Dense layer, once ``classifier_activation`` is checked against
    ``weights``.

    Example:
        >>> from savepoint import layers
        >>> predictions(layers.Input((8,)), 5, "softmax", None).shape
        (None, 5)
    """
    from savepoint import layers
    validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions",
                        **dense_kwargs)(x)


def classifier_top(x: Any, include_top: bool, pooling: Any, classes: int,
                   classifier_activation: Any, weights: Any, pool_name: str | None = "avg_pool",
                   named_pooling: bool = False, dropout: float = 0.0,
                   **dense_kwargs: Any) -> Any:
    """The usual end of a builder: with ``include_top``, global average pooling (named
    ``pool_name``), an optional ``top_dropout`` and ``predictions``; else ``pooled_features``.

    Example:
        >>> from savepoint import layers
        >>> classifier_top(layers.Input((4, 4, 3)), True, None, 10, "softmax", None).shape
        (None, 10)
    """
    if not include_top:
        return pooled_features(x, pooling, named_pooling)
    from savepoint import layers
    x = layers.GlobalAveragePooling2D(name=pool_name)(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    return predictions(x, classes, classifier_activation, weights, **dense_kwargs)


def preprocess_caffe_mode(x: Any, data_format: str | None = None) -> Any:
    """The ``preprocess_input`` of VGG16/19 and ResNet (v1): caffe mode (BGR, ImageNet means).

    Example:
        >>> import numpy as np
        >>> float(preprocess_caffe_mode(np.zeros((1, 1, 1, 3)))[0, 0, 0, 0].round(3))
        -103.939
    """
    return preprocess_input(x, data_format=data_format, mode="caffe")


def preprocess_tf_mode(x: Any, data_format: str | None = None) -> Any:
    """The ``preprocess_input`` of Xception, InceptionV3, MobileNet(V2) and ResNetV2: tf mode,
    scaled to [-1, 1].

    Example:
        >>> import numpy as np
        >>> float(preprocess_tf_mode(np.zeros((1, 1, 1, 3)))[0, 0, 0, 0])
        -1.0
    """
    return preprocess_input(x, data_format=data_format, mode="tf")


def preprocess_identity(x: Any, data_format: str | None = None) -> Any:
    """The ``preprocess_input`` of models that rescale inside (ConvNeXt, EfficientNet,
    MobileNetV3): ``x``.

    Example:
        >>> preprocess_identity(2.0)
        2.0
    """
    return x


# Roots of Keras's published application weights (EfficientNet's live in another bucket).
BASE_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
EFFICIENTNET_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"


def load_weights(model: Any, weights: Any, url_dir: str, file_name: str, file_hash: str | None,
                 base: str = "BASE_WEIGHTS_URL") -> None:
    """Load ``weights`` into ``model``: Keras's ImageNet file (downloaded with ``get_file``,
    verified by Keras's own hash, cached under ``models/``) or a path to a Keras 2 ``.h5``.

    The root URL (the module attribute named by ``base``) is read at call time, so tests and
    mirrors can point it elsewhere.

    Example:
        >>> load_weights(None, None, "vgg16/", "x.h5", "0" * 32)  # None: nothing to load
    """
    if weights is None:
        return
    if weights == "imagenet":
        from savepoint.utils import get_file
        import savepoint.applications.imagenet_utils as self_module
        weights = get_file(file_name, getattr(self_module, base) + url_dir + file_name,
                           cache_subdir="models", file_hash=file_hash)
    model.load_weights(weights)


Builder = Callable[..., Any]
