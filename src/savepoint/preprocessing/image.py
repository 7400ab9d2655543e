"""``keras.preprocessing.image``: tf-keras 2's ``ImageDataGenerator`` (rescale, sample- and
feature-wise centering/normalization, rotation, shifts, shear, zoom, flips, channel and brightness
shifts, ``preprocessing_function``, ``validation_split``) with ``flow`` and
``flow_from_directory``, drawing every random choice from ``np.random`` exactly as tf-keras does,
plus the image helpers of ``savepoint.utils``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.preprocessing.image_iterators import DirectoryIterator, Iterator, NumpyArrayIterator
from savepoint.preprocessing.image_transforms import (  # noqa: F401 (tf-keras's namespace)
    FILL_MODES, apply_affine_transform, apply_brightness_shift, apply_channel_shift,
    random_brightness, random_channel_shift, random_rotation, random_shear, random_shift,
    random_zoom)
from savepoint.utils.image_utils import array_to_img, img_to_array, load_img, save_img


class ImageDataGenerator:
    """Batches of (augmented, standardized) images from arrays or directories, as tf-keras 2's
    generator.

    Each sample gets ``get_random_transform``'s parameters, drawn from ``np.random`` in
    tf-keras's order (rotation, height shift, width shift, shear, zoom, flips, channel shift,
    brightness), then ``apply_transform`` (the affine warp through scipy with ``fill_mode``/
    ``cval``/``interpolation_order``, channel shift, flips, Pillow brightness), then
    ``standardize`` (``preprocessing_function``, ``rescale``, sample-wise, then the
    feature-wise ``mean``/``std`` learnt by ``fit``). With the same seed the batches equal
    tf-keras's. Warps need scipy and brightness Pillow (the ``savepoint[image]`` extra).

    Example:
        >>> gen = ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True, rotation_range=10)
        >>> x = np.full((4, 2, 2, 1), 255.0)
        >>> float(next(iter(gen.flow(x, batch_size=2, seed=0))).max())
        1.0
    """

    def __init__(self, featurewise_center: bool = False, samplewise_center: bool = False,
                 featurewise_std_normalization: bool = False,
                 samplewise_std_normalization: bool = False, zca_whitening: bool = False,
                 zca_epsilon: float = 1e-6, rotation_range: float = 0,
                 width_shift_range: Any = 0.0, height_shift_range: Any = 0.0,
                 brightness_range: Any = None, shear_range: float = 0.0,
                 zoom_range: Any = 0.0, channel_shift_range: float = 0.0,
                 fill_mode: str = "nearest", cval: float = 0.0, horizontal_flip: bool = False,
                 vertical_flip: bool = False, rescale: float | None = None,
                 preprocessing_function: Callable | None = None,
                 data_format: str | None = None, validation_split: float = 0.0,
                 interpolation_order: int = 1, dtype: str | None = None):
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"Expected data_format 'channels_last' (savepoint's images are "
                              f"channels-last). Received: data_format={data_format!r}.")
        if not 0 <= validation_split < 1:
            raise ConfigError(f"`validation_split` must be strictly between 0 and 1. "
                              f"Received: {validation_split}")
        if fill_mode not in FILL_MODES:
            raise ConfigError(f"Expected `fill_mode` to be one of {list(FILL_MODES)}. "
                              f"Received: fill_mode={fill_mode!r}.")
        self.zoom_range = _zoom_range(zoom_range)
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ConfigError(f"Expected `brightness_range` to be a tuple or list of two "
                              f"floats. Received: {brightness_range!r}.")
        if zca_whitening:  # as tf.keras: ZCA centers, and replaces std normalization
            featurewise_center, featurewise_std_normalization = True, False
        # as tf.keras: std normalization implies centering (it warns and turns it on)
        featurewise_center = featurewise_center or featurewise_std_normalization
        samplewise_center = samplewise_center or samplewise_std_normalization
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = bool(zca_whitening), zca_epsilon
        self.zca_whitening_matrix: np.ndarray | None = None
        self.rotation_range, self.shear_range = rotation_range, shear_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.brightness_range, self.channel_shift_range = brightness_range, channel_shift_range
        self.fill_mode, self.cval, self.interpolation_order = fill_mode, cval, interpolation_order
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.data_format = "channels_last"
        self.dtype = dtype or backend.floatx()
        self._validation_split = validation_split
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Normalize one image (or a batch) in place and return it.

        Example:
            >>> ImageDataGenerator(rescale=0.5).standardize(np.ones((1, 1, 1))).item()
            0.5
        """
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                raise ConfigError("This ImageDataGenerator specifies `featurewise_center`, but "
                                  "it hasn't been fit on any training data. Fit it first by "
                                  "calling `.fit(numpy_data)`.")
            x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                raise ConfigError("This ImageDataGenerator specifies "
                                  "`featurewise_std_normalization`, but it hasn't been fit on "
                                  "any training data. Fit it first by calling "
                                  "`.fit(numpy_data)`.")
            x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                raise ConfigError("This ImageDataGenerator specifies `zca_whitening`, but it "
                                  "hasn't been fit on any training data. Fit it first by "
                                  "calling `.fit(numpy_data)`.")
            flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
            x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    def get_random_transform(self, img_shape: tuple, seed: int | None = None) -> dict:
        """The augmentation parameters for one ``(h, w, c)`` image, drawn from ``np.random``
        (seeded with ``seed`` when given) in tf-keras's order, so a seed gives tf-keras's draws.

        Example:
            >>> g = ImageDataGenerator(rotation_range=30, zoom_range=0.1)
            >>> g.get_random_transform((8, 8, 3), seed=1) == g.get_random_transform((8, 8, 3), 1)
            True
        """
        if seed is not None:
            np.random.seed(seed)
        theta = np.random.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        tx = _shift(self.height_shift_range, img_shape[0])
        ty = _shift(self.width_shift_range, img_shape[1])
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range \
            else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = np.random.uniform(-self.channel_shift_range,
                                              self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """Apply ``transform_parameters`` (as ``get_random_transform`` returns them; missing
        keys mean no change) to one ``(h, w, c)`` image, in tf-keras's order.

        Example:
            >>> g = ImageDataGenerator()
            >>> g.apply_transform(np.arange(4.0).reshape(1, 4, 1),
            ...                   {"flip_horizontal": True})[0, :, 0].tolist()
            [3.0, 2.0, 1.0, 0.0]
        """
        p = transform_parameters
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                   p.get("shear", 0), p.get("zx", 1), p.get("zy", 1), 0, 1, 2,
                                   fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"], 2)
        if p.get("flip_horizontal", False):
            x = np.flip(x, 1)
        if p.get("flip_vertical", False):
            x = np.flip(x, 0)
        if p.get("brightness") is not None:
            x = apply_brightness_shift(x, p["brightness"], False)
        return x

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One randomly augmented copy of the ``(h, w, c)`` image ``x`` (tf-keras's draws for
        ``seed``).

        Example:
            >>> g = ImageDataGenerator(width_shift_range=0.2, fill_mode="constant")
            >>> x = np.random.default_rng(0).random((4, 4, 1))
            >>> bool((g.random_transform(x, seed=3) == g.random_transform(x, seed=3)).all())
            True
        """
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Learn the feature-wise ``mean``/``std`` (per channel) and the ZCA whitening matrix
        of the rescaled (and, with ``augment``, augmented) ``(n, h, w, c)`` images.

        Example:
            >>> g = ImageDataGenerator(featurewise_center=True); g.fit(np.ones((2, 1, 1, 3)))
            >>> g.mean.shape
            (1, 1, 3)
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ShapeError(f"Input to `.fit()` should have rank 4. Got array with shape: "
                             f"{x.shape}")
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:  # tf.keras learns the statistics of rescaled images
            x *= self.rescale
        if augment:
            x = np.stack([self.random_transform(x[i % len(x)])
                          for r in range(rounds) for i in range(len(x))]).astype(self.dtype)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, x.shape[3])
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, x.shape[3])
            x /= self.std + 1e-6
        if self.zca_whitening:  # tf-keras's ZCA matrix from the SVD of the centered data
            u, singular, _ = np.linalg.svd(x.reshape(len(x), -1).T, full_matrices=False)
            scale = np.sqrt(len(x)) / (singular + self.zca_epsilon)
            self.zca_whitening_matrix = (u * scale).dot(u.T)

    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
             sample_weight: Any = None, seed: int | None = None, save_to_dir: str | None = None,
             save_prefix: str = "", save_format: str = "png", ignore_class_split: bool = False,
             subset: str | None = None) -> NumpyArrayIterator:
        """An iterator (and ``Sequence``) of ``(x, y)`` batches for ``fit``.

        Example:
            >>> it = ImageDataGenerator().flow(np.zeros((3, 2, 2, 1)), batch_size=2)
            >>> len(it)
            2
        """
        return NumpyArrayIterator(x, y, self, batch_size, shuffle, sample_weight, seed, subset,
                                  self.dtype, ignore_class_split, save_to_dir, save_prefix,
                                  save_format)

    def flow_from_directory(self, directory: str, target_size: tuple[int, int] = (256, 256),
                            color_mode: str = "rgb", classes: list[str] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool = True, seed: int | None = None,
                            save_to_dir: str | None = None, save_prefix: str = "",
                            save_format: str = "png", follow_links: bool = False,
                            subset: str | None = None, interpolation: str = "nearest",
                            keep_aspect_ratio: bool = False) -> DirectoryIterator:
        """An iterator (and ``Sequence``) of batches read from ``directory/<class>/`` image
        files (PNG, JPEG, BMP, PPM, TIFF), as tf-keras's ``DirectoryIterator``.

        Example:
            >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "cats"))
        >>> save_img(os.path.join(d, "cats", "a.png"), np.zeros((4, 6, 3)))
        >>> it = ImageDataGenerator().flow_from_directory(d, target_size=(2, 3))
        Found 1 images belonging to 1 classes.
        >>> it[0][0].shape, it[0][1].tolist()
        ((1, 2, 3, 3), [[1.0]])
        """
        return DirectoryIterator(directory, self, target_size, color_mode, classes, class_mode,
                                 batch_size, shuffle, seed, follow_links, subset, interpolation,
                                 keep_aspect_ratio, self.dtype, save_to_dir, save_prefix,
                                 save_format)


def smart_resize(x: Any, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize an ``(h, w, c)`` image or a batch to ``size`` without distorting it: crop the
    largest centered box of the target's aspect ratio, then ``tf.image.resize`` (tf-keras's
    ``smart_resize``; ``bilinear``, ``nearest``, ``bicubic``, ``area``).

    Example:
        >>> smart_resize(np.ones((4, 8, 3)), (2, 2)).shape
        (2, 2, 3)
    """
    import torch

    from savepoint.layers.preprocessing.resizing import smart_resize as resize_batch
    from savepoint.utils.image_decoding import check_image_size, check_interpolation
    size = check_image_size(tuple(size))
    check_interpolation(interpolation)
    array = np.asarray(x, dtype=np.float32)
    if array.ndim not in (3, 4):
        raise ShapeError(f"Expected an image (h, w, c) or a batch (n, h, w, c). Received an "
                         f"array with shape {array.shape}.")
    batch = torch.from_numpy(array if array.ndim == 4 else array[None])
    out = resize_batch(batch, size, interpolation).numpy()
    return out if array.ndim == 4 else out[0]


def _zoom_range(zoom_range: Any) -> list:
    """tf-keras's ``[lower, upper]`` zoom bounds (a float ``z`` means ``[1 - z, 1 + z]``)."""
    if isinstance(zoom_range, (float, int)) and not isinstance(zoom_range, bool):
        return [1 - zoom_range, 1 + zoom_range]
    if isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2 and all(
            isinstance(v, (float, int)) for v in zoom_range):
        return [zoom_range[0], zoom_range[1]]
    raise ConfigError(f"Expected `zoom_range` to be a float or a tuple or list of two floats. "
                      f"Received: {zoom_range!r}.")


def _shift(shift_range: Any, size: int) -> float:
    """One shift in pixels drawn as tf-keras does: from the values of an int or list (with a
    random sign), else uniform in ``[-r, r]``; fractions (< 1) are of ``size``."""
    if not shift_range:
        return 0
    try:  # an int or a 1-D list: pick one value and a sign
        shift = np.random.choice(shift_range)
        shift *= np.random.choice([-1, 1])
    except ValueError:  # a float
        shift = np.random.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        shift *= size
    return shift


__all__ = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
           "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift",
           "array_to_img", "img_to_array", "load_img", "random_brightness",
           "random_channel_shift", "random_rotation", "random_shear", "random_shift",
           "random_zoom", "save_img", "smart_resize"]
