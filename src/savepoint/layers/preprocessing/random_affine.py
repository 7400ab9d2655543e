"""``RandomRotation``, ``RandomZoom`` and ``RandomTranslation``: random projective transforms of
images in training (TF's fill modes and sampling), the identity at inference."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.layers.base import Layer
from savepoint.layers.preprocessing import image_transform as it
from savepoint.layers.preprocessing._utils import (as_batched_image, check_choice,
                                                   check_data_format, check_rng_type,
                                                   check_seed, factor_range,
                                                   keras3_config_out, random_config,
                                                   seeded_generator, uniform)
from savepoint.serialization import builtin


class _RandomTransform(Layer):
    """Shared arguments (fill mode, sampling, seed) and the training/inference switch; a seeded
    layer draws from its own generator, an unseeded one from torch's global generators."""

    keras3_config_out = staticmethod(keras3_config_out)  # the Keras 3 dialect's hook

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, rng_type: str | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, it.FILL_MODES)
        self.interpolation = check_choice(name, "interpolation", interpolation, it.SAMPLINGS)
        self.fill_value, self.seed = float(fill_value), check_seed(name, seed)
        # seeded: the layer's own generator, as tf.keras gives each seeded layer its own
        self._generator = seeded_generator(self.seed)
        check_rng_type(name, rng_type)
        check_data_format(name, data_format)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training:
            return inputs
        images, unbatched = as_batched_image(self, inputs)
        n, height, width = images.shape[0], images.shape[1], images.shape[2]
        matrices = self._matrices(n, height, width, images.device)
        out = it.transform(images, matrices, self.fill_mode, self.interpolation, self.fill_value)
        return out[0] if unbatched else out

    def _matrices(self, n: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return random_config({**super().get_config(), "fill_mode": self.fill_mode,
                              "fill_value": self.fill_value,
                              "interpolation": self.interpolation}, self.seed)


def _plain(factor: Any) -> Any:
    return list(factor) if isinstance(factor, (list, tuple)) else factor


@builtin("layers")
class RandomRotation(_RandomTransform):
    """Rotate each image by a random fraction of a full turn drawn from ``factor`` in training.

    Example:
        >>> import numpy as np
        >>> layer = RandomRotation((0.25, 0.25), fill_mode="constant")
        >>> layer(np.ones((1, 3, 3, 1), "float32"), training=False).shape
        torch.Size([1, 3, 3, 1])
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = _plain(factor)
        self.lower, self.upper = factor_range("RandomRotation", "factor", factor)

    def _matrices(self, n, height, width, device):
        angles = uniform((n,), self.lower * it.TWO_PI, self.upper * it.TWO_PI, device,
                         self._generator)
        return it.rotation_matrix(angles, height, width)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


@builtin("layers")
class RandomZoom(_RandomTransform):
    """Zoom each image by ``1 + f``, ``f`` drawn from ``height_factor`` (and ``width_factor``,
    else the same draw) in training; positive factors zoom out.

    Example:
        >>> import numpy as np
        >>> RandomZoom(0.2)(np.ones((2, 4, 4, 1), "float32")).shape
        torch.Size([2, 4, 4, 1])
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = _plain(height_factor), _plain(width_factor)
        self.height_range = factor_range("RandomZoom", "height_factor", height_factor, -1.0, 1.0)
        self.width_range = None if width_factor is None else factor_range(
            "RandomZoom", "width_factor", width_factor, -1.0)

    def _matrices(self, n, height, width, device):
        zy = uniform((n,), 1.0 + self.height_range[0], 1.0 + self.height_range[1], device,
                     self._generator)
        zx = zy if self.width_range is None else uniform(
            (n,), 1.0 + self.width_range[0], 1.0 + self.width_range[1], device, self._generator)
        return it.zoom_matrix(zx, zy, height, width)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


@builtin("layers")
class RandomTranslation(_RandomTransform):
    """Shift each image by fractions of its height and width drawn from the factors, in training.

    Example:
        >>> import numpy as np
        >>> RandomTranslation(0.1, 0.1)(np.ones((2, 4, 4, 1), "float32")).shape
        torch.Size([2, 4, 4, 1])
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = _plain(height_factor), _plain(width_factor)
        self.height_range = factor_range("RandomTranslation", "height_factor", height_factor,
                                          -1.0, 1.0)
        self.width_range = factor_range("RandomTranslation", "width_factor", width_factor,
                                        -1.0, 1.0)

    def _matrices(self, n, height, width, device):
        dy = uniform((n,), *self.height_range, device, self._generator) * height
        dx = uniform((n,), *self.width_range, device, self._generator) * width
        return it.translation_matrix(dx, dy)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


__all__ = ["RandomRotation", "RandomTranslation", "RandomZoom"]
