"""ConvNeXtTiny with Keras's layer names (nested stem/downsampling Sequentials), its
``LayerScale``/``StochasticDepth`` layers and Keras's weight file.

Example:
    >>> m = ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> m.name, m.output_shape
    ('convnext_tiny', (None, 1, 1, 768))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.applications import imagenet_utils as iu
from savepoint.layers.base import Layer
from savepoint.serialization import builtin

_HASHES = {"convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                             "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1")}


@builtin("layers")
class StochasticDepth(Layer):
    """Drop the whole residual branch per sample in training (Keras's ConvNeXt layer).

    Example:
        >>> StochasticDepth(0.5)(torch.ones(2, 3)).tolist()  # inference: identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, drop_path_rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_path_rate = float(drop_path_rate)

    def call(self, x: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training:
            return x
        keep_prob = 1 - self.drop_path_rate
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        random_tensor = torch.floor(keep_prob + torch.rand(shape, dtype=x.dtype,
                                                           device=x.device))
        return (x / keep_prob) * random_tensor

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@builtin("layers")
class LayerScale(Layer):
    """Multiply by a learned per-channel ``gamma`` (Keras's ConvNeXt layer).

    Example:
        >>> LayerScale(0.5, 3)(torch.ones(1, 3)).tolist()
        [[0.5, 0.5, 0.5]]
    """

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values, self.projection_dim = init_values, int(projection_dim)

    def build(self, input_shape: Any) -> None:
        from savepoint import initializers
        self.gamma = self.add_weight("gamma", (self.projection_dim,),
                                     initializers.Constant(self.init_values))
        self.built = True

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def _block(x: Any, dim: int, drop_path_rate: float, scale: float | None, name: str) -> Any:
    from savepoint import layers
    inputs = x
    x = layers.Conv2D(filters=dim, kernel_size=7, padding="same", groups=dim,
                      name=name + "_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name=name + "_layernorm")(x)
    x = layers.Dense(4 * dim, name=name + "_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=name + "_gelu")(x)
    x = layers.Dense(dim, name=name + "_pointwise_conv_2")(x)
    if scale is not None:
        x = LayerScale(scale, dim, name=name + "_layer_scale")(x)
    if drop_path_rate:
        layer = StochasticDepth(drop_path_rate, name=name + "_stochastic_depth")
    else:
        layer = layers.Activation("linear", name=name + "_identity")
    # tf.keras builds this add from symbolic arithmetic (a TFOpLambda in its .h5).
    return inputs + layer(x)


def ConvNeXt(depths: list[int], projection_dims: list[int], drop_path_rate: float = 0.0,
             layer_scale_init_value: float = 1e-6, default_size: int = 224,
             model_name: str = "convnext", include_preprocessing: bool = True,
             include_top: bool = True, weights: Any = None, input_tensor: Any = None,
             input_shape: Any = None, pooling: Any = None, classes: int = 1000,
             classifier_activation: Any = "softmax") -> Any:
    """The generic ConvNeXt of ``keras.applications.convnext.ConvNeXt``.

    Example:
        >>> ConvNeXt([1, 1, 1, 1], [8, 16, 32, 64], input_shape=(32, 32, 3),
        ...          include_top=False).output_shape
        (None, 1, 1, 64)
    """
    from savepoint import layers
    from savepoint.models import Model, Sequential
    iu.validate_arguments(weights, include_top, classes, pooling)
    input_shape = iu.obtain_input_shape(input_shape, default_size, 32, "channels_last",
                                        include_top, weights)
    img_input, inputs = iu.model_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=model_name + "_prestem_normalization")(x)
    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4,
                      name=model_name + "_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=model_name + "_stem_layernorm")],
        name=model_name + "_stem")
    downsample = [stem] + [Sequential([
        layers.LayerNormalization(epsilon=1e-6, name=f"{model_name}_downsampling_layernorm_{i}"),
        layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                      name=f"{model_name}_downsampling_conv_{i}")],
        name=f"{model_name}_downsampling_block_{i}") for i in range(3)]
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample[i](x)
        for j in range(depths[i]):
            x = _block(x, projection_dims[i], rates[cur + j], layer_scale_init_value,
                       name=f"{model_name}_stage_{i}_block_{j}")
        cur += depths[i]
    if include_top:
        iu.validate_activation(classifier_activation, weights)
        x = layers.GlobalAveragePooling2D(name=model_name + "_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=model_name + "_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation,
                         name=model_name + "_head_dense")(x)
    else:
        x = iu.pooled_features(x, pooling)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Model(inputs, x, name=model_name)
    tail = ".h5" if include_top else "_notop.h5"
    iu.load_weights(model, weights, "convnext/", model_name + tail,
                    _HASHES.get(model_name, ("", ""))[0 if include_top else 1])
    return model


def ConvNeXtTiny(model_name: str = "convnext_tiny", include_top: bool = True,
                 include_preprocessing: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, input_shape: Any = None, pooling: Any = None,
                 classes: int = 1000, classifier_activation: Any = "softmax") -> Any:
    """The ConvNeXtTiny of ``keras.applications.ConvNeXtTiny`` (normalises inside;
    ``preprocess_input`` is the identity).

    Example:
        >>> ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3)).name
        'convnext_tiny'
    """
    if weights == "imagenet" and model_name not in _HASHES:
        from savepoint.errors import ConfigError
        raise ConfigError(f"Expected model_name 'convnext_tiny' for imagenet weights. "
                          f"Received: model_name={model_name!r}.")
    return ConvNeXt([3, 3, 9, 3], [96, 192, 384, 768], 0.0, 1e-6, 224, model_name,
                    include_preprocessing, include_top, weights, input_tensor, input_shape,
                    pooling, classes, classifier_activation)


preprocess_input = iu.preprocess_identity  # the model rescales inside, as in Keras
decode_predictions = iu.decode_predictions
