"""``RandomFlip``, ``RandomContrast`` and ``RandomCrop``: simple random image augmentations,
applied in training only (RandomCrop center-crops and resizes at inference, as tf.keras)."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.errors import ConfigError
from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import (as_batched_image, check_choice,
                                                   check_data_format, check_rng_type,
                                                   check_seed, keras3_config_out,
                                                   positive_int, random_config,
                                                   seeded_generator, uniform)
from savepoint.layers.preprocessing.resizing import smart_resize
from savepoint.serialization import builtin

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class _RandomLayer(Layer):
    """The seed and tf-keras's ``rng_type``: a seeded layer draws from its own generator (the
    same sequence for every fresh layer with that seed), an unseeded one from torch's global
    generators."""

    keras3_config_out = staticmethod(keras3_config_out)  # the Keras 3 dialect's hook

    def __init__(self, seed: int | None = None, rng_type: str | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.seed = check_seed(type(self).__name__, seed)
        self._generator = seeded_generator(self.seed)
        check_rng_type(type(self).__name__, rng_type)
        check_data_format(type(self).__name__, data_format)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return random_config(super().get_config(), self.seed)


@builtin("layers")
class RandomFlip(_RandomLayer):
    """Flip each image left-right and/or up-down with probability 1/2 in training.

    Example:
        >>> import numpy as np
        >>> RandomFlip("horizontal")(np.ones((2, 3, 3, 1), "float32"), training=True).shape
        torch.Size([2, 3, 3, 1])
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs: Any):
        super().__init__(seed, **kwargs)
        self.mode = check_choice("RandomFlip", "mode", mode, FLIP_MODES)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training:
            return inputs
        images, unbatched = as_batched_image(self, inputs)
        shape = (images.shape[0], 1, 1, 1)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = uniform(shape, 0.0, 1.0, images.device, self._generator) < 0.5
            images = torch.where(flip, images.flip(2), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = uniform(shape, 0.0, 1.0, images.device, self._generator) < 0.5
            images = torch.where(flip, images.flip(1), images)
        return images[0] if unbatched else images

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


@builtin("layers")
class RandomContrast(_RandomLayer):
    """Scale each channel's deviation from its per-image mean by one factor drawn from
    ``[1 - lower, 1 + upper]`` per call, then clip to ``[0, 255]`` (tf.keras 2), in training.

    Example:
        >>> import numpy as np
        >>> RandomContrast(0.5)(np.ones((2, 3, 3, 1), "float32"), training=True).shape
        torch.Size([2, 3, 3, 1])
    """

    def __init__(self, factor: Any, seed: int | None = None, value_range: Any = None,
                 **kwargs: Any):
        super().__init__(seed, **kwargs)
        valid = isinstance(factor, (int, float)) and not isinstance(factor, bool) or (
            isinstance(factor, (list, tuple)) and len(factor) == 2)
        if not valid:
            raise ConfigError(f"RandomContrast expected `factor` to be a float in [0, 1] or a "
                              f"pair of them. Received: factor={factor!r}.")
        self.factor = list(factor) if isinstance(factor, (list, tuple)) else factor
        # tf.keras 2 reads both forms as magnitudes: the factor lies in [1 - lower, 1 + upper]
        self.lower, self.upper = (float(factor[0]), float(factor[1])) if isinstance(
            factor, (list, tuple)) else (float(factor), float(factor))
        if self.lower < 0 or self.upper < 0 or self.lower > 1:
            raise ConfigError(f"RandomContrast expected `factor` values >= 0 and a lower bound "
                              f"<= 1. Received: factor={factor!r}.")
        if value_range is not None and list(value_range) != [0, 255]:
            raise ConfigError(f"RandomContrast expected `value_range` (0, 255) (tf.keras 2 clips "
                              f"to it). Received: value_range={value_range!r}.")

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training:
            return inputs
        images, unbatched = as_batched_image(self, inputs)
        factor = uniform((), 1.0 - self.lower, 1.0 + self.upper, images.device,
                         self._generator)
        mean = images.mean(dim=(1, 2), keepdim=True)
        out = torch.clamp((images - mean) * factor + mean, 0.0, 255.0)
        return out[0] if unbatched else out

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


@builtin("layers")
class RandomCrop(_RandomLayer):
    """Crop one random ``height x width`` window (the same for the batch) in training; at
    inference, and for images smaller than the window, center-crop to the aspect ratio and
    resize (tf.keras 2's behaviour).

    Example:
        >>> import numpy as np
        >>> RandomCrop(2, 2)(np.ones((1, 4, 4, 3), "float32"), training=True).shape
        torch.Size([1, 2, 2, 3])
    """

    def __init__(self, height: int, width: int, seed: int | None = None, **kwargs: Any):
        super().__init__(seed, **kwargs)
        self.height = positive_int("RandomCrop", "height", height)
        self.width = positive_int("RandomCrop", "width", width)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        images, unbatched = as_batched_image(self, inputs)
        h_diff, w_diff = images.shape[1] - self.height, images.shape[2] - self.width
        if training and h_diff >= 0 and w_diff >= 0:
            # one offset for the whole batch, drawn on a CPU generator: slicing needs host
            # ints, and drawing there avoids a device sync
            top, left = (int(v) for v in torch.randint(0, 2 ** 31 - 1, (2,),
                                                       generator=self._generator))
            top, left = top % (h_diff + 1), left % (w_diff + 1)
            out = images[:, top:top + self.height, left:left + self.width]
        else:
            out = smart_resize(images, (self.height, self.width))
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}
