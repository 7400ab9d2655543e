"""``keras.preprocessing.image``: a basic Keras 2 ``ImageDataGenerator`` (rescale, sample- and
feature-wise centering/normalization, flips, ``preprocessing_function``, ``validation_split``)
whose ``flow`` iterator draws its shuffles and flips from ``np.random`` exactly as tf.keras's
does, plus the image helpers of ``savepoint.utils``."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import numpy as np

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.utils.data_sequence import Sequence
from savepoint.utils.image_utils import array_to_img, img_to_array, load_img, save_img

# tf.keras augmentations that need scipy's spline warps; refused rather than ignored
_UNSUPPORTED = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                "channel_shift_range", "zca_whitening", "brightness_range")


class ImageDataGenerator:
    """Batches of (augmented, standardized) images from arrays, as tf.keras 2's generator.

    ``standardize`` applies, in Keras's order: ``preprocessing_function``, ``rescale``,
    sample-wise centering and std normalization, then the feature-wise ``mean``/``std``
    learnt by ``fit``. Random flips are drawn per sample with ``np.random.random() < 0.5``.
    Geometric warps (rotation, shifts, shear, zoom) and ZCA raise ``ConfigError``: use the
    ``RandomRotation``/``RandomTranslation``/``RandomZoom`` layers instead.

    Example:
        >>> gen = ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True)
        >>> x = np.full((4, 2, 2, 1), 255.0)
        >>> float(next(iter(gen.flow(x, batch_size=2, seed=0))).max())
        1.0
    """

    def __init__(self, featurewise_center: bool = False, samplewise_center: bool = False,
                 featurewise_std_normalization: bool = False,
                 samplewise_std_normalization: bool = False, zca_whitening: bool = False,
                 zca_epsilon: float = 1e-6, rotation_range: float = 0,
                 width_shift_range: float = 0.0, height_shift_range: float = 0.0,
                 brightness_range: Any = None, shear_range: float = 0.0,
                 zoom_range: Any = 0.0, channel_shift_range: float = 0.0,
                 fill_mode: str = "nearest", cval: float = 0.0, horizontal_flip: bool = False,
                 vertical_flip: bool = False, rescale: float | None = None,
                 preprocessing_function: Callable | None = None,
                 data_format: str | None = None, validation_split: float = 0.0,
                 interpolation_order: int = 1, dtype: str | None = None):
        given = {"rotation_range": rotation_range, "width_shift_range": width_shift_range,
                 "height_shift_range": height_shift_range, "shear_range": shear_range,
                 "channel_shift_range": channel_shift_range, "zca_whitening": zca_whitening,
                 "brightness_range": brightness_range}
        used = [k for k in _UNSUPPORTED if given[k]]
        zoom = zoom_range if isinstance(zoom_range, (list, tuple)) else (1 - zoom_range,
                                                                         1 + zoom_range)
        if used or tuple(zoom) != (1, 1):
            used += [] if tuple(zoom) == (1, 1) else ["zoom_range"]
            raise ConfigError(f"ImageDataGenerator in savepoint does not support {used}. Fix: "
                              f"use the RandomRotation/RandomTranslation/RandomZoom layers in "
                              f"the model, or drop these arguments.")
        if data_format not in (None, "channels_last"):
            raise ConfigError(f"Expected data_format 'channels_last' (savepoint's images are "
                              f"channels-last). Received: data_format={data_format!r}.")
        if not 0 <= validation_split < 1:
            raise ConfigError(f"`validation_split` must be strictly between 0 and 1. "
                              f"Received: {validation_split}")
        # as tf.keras: std normalization implies centering (it warns and turns it on)
        featurewise_center = featurewise_center or featurewise_std_normalization
        samplewise_center = samplewise_center or samplewise_std_normalization
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
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
        return x

    def get_random_transform(self, img_shape: tuple, seed: int | None = None) -> dict:
        """The flips for one image, drawn from ``np.random`` as tf.keras draws them."""
        if seed is not None:
            np.random.seed(seed)
        return {"flip_horizontal": (np.random.random() < 0.5) * self.horizontal_flip,
                "flip_vertical": (np.random.random() < 0.5) * self.vertical_flip}

    def apply_transform(self, x: np.ndarray, params: dict) -> np.ndarray:
        """Apply ``get_random_transform``'s flips to one ``(h, w, c)`` image."""
        if params.get("flip_horizontal"):
            x = np.flip(x, 1)
        if params.get("flip_vertical"):
            x = np.flip(x, 0)
        return x

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One randomly flipped copy of ``x``."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Learn the feature-wise ``mean``/``std`` (per channel) of the rescaled
        ``(n, h, w, c)`` images.

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

    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
             sample_weight: Any = None, seed: int | None = None, save_to_dir: str | None = None,
             save_prefix: str = "", save_format: str = "png", ignore_class_split: bool = False,
             subset: str | None = None) -> "NumpyArrayIterator":
        """An iterator (and ``Sequence``) of ``(x, y)`` batches for ``fit``."""
        if save_to_dir is not None:
            raise ConfigError("ImageDataGenerator.flow(save_to_dir=...) is not supported in "
                              "savepoint. Fix: save batches yourself with utils.save_img.")
        return NumpyArrayIterator(x, y, self, batch_size, shuffle, sample_weight, seed, subset,
                                  self.dtype, ignore_class_split)


class NumpyArrayIterator(Sequence):
    """tf.keras's ``NumpyArrayIterator``: batch ``i`` by index (``fit`` reads it so), or the
    endless ``next()`` stream, both seeding ``np.random`` with ``seed + batches_seen``.

    Example:
        >>> it = NumpyArrayIterator(np.zeros((5, 2, 2, 1)), np.arange(5), ImageDataGenerator(),
        ...                         batch_size=2, shuffle=False)
        >>> len(it), it[2][1].tolist()
        (3, [4])
    """

    def __init__(self, x: Any, y: Any, image_data_generator: ImageDataGenerator,
                 batch_size: int = 32, shuffle: bool = False, sample_weight: Any = None,
                 seed: int | None = None, subset: str | None = None, dtype: str | None = None,
                 ignore_class_split: bool = False):
        super().__init__()
        self.dtype = dtype or backend.floatx()
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ShapeError(f"Input data in `NumpyArrayIterator` should have rank 4. You "
                             f"passed an array with shape {x.shape}")
        if y is not None and len(x) != len(y):
            raise ShapeError(f"`x` (images tensor) and `y` (labels) should have the same "
                             f"length. Found: x.shape = {x.shape}, y.shape = "
                             f"{np.asarray(y).shape}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ConfigError(f"Invalid subset name: {subset}; expected 'training' or "
                                  f"'validation'")
            split = int(len(x) * image_data_generator._validation_split)
            if y is not None and not ignore_class_split and not np.array_equal(
                    np.unique(np.asarray(y)[:split]), np.unique(np.asarray(y)[split:])):
                raise ConfigError("Training and validation subsets have different number of "
                                  "classes after the split. If your numpy arrays are sorted "
                                  "by the label, you might want to shuffle them.")
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x = x[part]
            y = None if y is None else np.asarray(y)[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        self.x, self.y = x, None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.n, self.batch_size, self.shuffle, self.seed = len(x), batch_size, shuffle, seed
        self.batch_index, self.total_batches_seen = 0, 0
        self.lock = threading.Lock()
        self.index_array: np.ndarray | None = None
        self.index_generator = self._flow_index()

    def _set_index_array(self) -> None:
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = np.random.permutation(self.n)

    def __getitem__(self, idx: int) -> Any:
        if idx >= len(self):
            raise IndexError(f"Asked to retrieve element {idx}, but the Sequence has length "
                             f"{len(self)}")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        chosen = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._batch(chosen)

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self) -> None:
        self._set_index_array()

    def reset(self) -> None:
        """Start again from the first batch."""
        self.batch_index = 0

    def _flow_index(self) -> Iterator[np.ndarray]:
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current = (self.batch_index * self.batch_size) % self.n if self.n else 0
            if self.n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current:current + self.batch_size]

    def __iter__(self) -> "NumpyArrayIterator":
        return self

    def __next__(self) -> Any:
        with self.lock:
            chosen = next(self.index_generator)
        return self._batch(chosen)

    next = __next__

    def _batch(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            x = gen.apply_transform(self.x[j].astype(self.dtype),
                                    gen.get_random_transform(self.x[j].shape))
            batch_x[i] = gen.standardize(np.array(x, copy=True))
        output: tuple = (batch_x,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "load_img", "img_to_array",
           "array_to_img", "save_img"]
