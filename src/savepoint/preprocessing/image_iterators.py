"""The batch iterators ``ImageDataGenerator.flow`` and ``flow_from_directory`` return, as tf-keras
2's ``NumpyArrayIterator`` and ``DirectoryIterator``: batch ``i`` by index (``fit`` reads them so)
or the endless ``next()`` stream, both seeding ``np.random`` with ``seed + batches_seen``, so the
shuffles and augmentations are tf-keras's own draws."""

from __future__ import annotations

import os
import threading
from typing import Any, Iterator as TypingIterator, Sequence as TypingSequence

import numpy as np

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.utils.data_sequence import Sequence
from savepoint.utils.image_utils import array_to_img, img_to_array, load_img

DIRECTORY_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)
CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


class Iterator(Sequence):
    """tf-keras's batch order over ``n`` samples (``shuffle`` by ``np.random.permutation``)."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None):
        super().__init__()
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
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

    def _flow_index(self) -> TypingIterator[np.ndarray]:
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

    def __iter__(self) -> "Iterator":
        return self

    def __next__(self) -> Any:
        with self.lock:
            chosen = next(self.index_generator)
        return self._batch(chosen)

    next = __next__

    def _batch(self, index_array: np.ndarray) -> Any:
        raise NotImplementedError


class SaveToDir:
    """Where ``save_to_dir`` writes each augmented sample, as tf-keras names it:
    ``<prefix>_<index>_<np.random.randint(hash_max)>.<format>`` (the draw moves ``np.random``
    on, as in tf-keras)."""

    def __init__(self, directory: str | None, prefix: str, file_format: str, hash_max: float):
        self.directory, self.prefix, self.format = directory, prefix, file_format
        self.hash_max = hash_max

    def __call__(self, batch_x: np.ndarray, index_array: np.ndarray) -> None:
        if not self.directory:
            return
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], "channels_last", scale=True)
            name = f"{self.prefix}_{j}_{np.random.randint(self.hash_max)}.{self.format}"
            img.save(os.path.join(self.directory, name))


def _augmented(gen: Any, x: np.ndarray) -> np.ndarray:
    """One sample through the generator: random transform, then standardize (tf-keras's
    order)."""
    x = gen.apply_transform(x, gen.get_random_transform(x.shape))
    return gen.standardize(np.array(x, copy=True))


def _split_misc(x: Any) -> tuple[Any, list[np.ndarray]]:
    """tf-keras's ``x``: an image array, or a tuple/list ``(images, misc)`` where ``misc`` is an
    array or a list of arrays passed through with each batch, unaugmented."""
    if type(x) not in (tuple, list):
        return x, []
    misc = [np.asarray(m) for m in x[1]] if type(x[1]) is list else [np.asarray(x[1])]
    return x[0], misc


class NumpyArrayIterator(Iterator):
    """Batches of ``(x, y[, sample_weight])`` from arrays, augmented by the generator; with
    ``x=(images, misc)`` the first item is ``[images, *misc]``.

    Example:
        >>> from savepoint.preprocessing.image import ImageDataGenerator
        >>> it = NumpyArrayIterator(np.zeros((5, 2, 2, 1)), np.arange(5), ImageDataGenerator(),
        ...                         batch_size=2, shuffle=False)
        >>> len(it), it[2][1].tolist()
        (3, [4])
    """

    def __init__(self, x: Any, y: Any, image_data_generator: Any, batch_size: int = 32,
                 shuffle: bool = False, sample_weight: Any = None, seed: int | None = None,
                 subset: str | None = None, dtype: str | None = None,
                 ignore_class_split: bool = False, save_to_dir: str | None = None,
                 save_prefix: str = "", save_format: str = "png"):
        self.dtype = dtype or backend.floatx()
        self.save = SaveToDir(save_to_dir, save_prefix, save_format, 1e4)
        x, x_misc = _split_misc(x)
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ShapeError(f"Input data in `NumpyArrayIterator` should have rank 4. You "
                             f"passed an array with shape {x.shape}")
        if y is not None and len(x) != len(y):
            raise ShapeError(f"`x` (images tensor) and `y` (labels) should have the same "
                             f"length. Found: x.shape = {x.shape}, y.shape = "
                             f"{np.asarray(y).shape}")
        for misc in x_misc:
            if len(misc) != len(x):
                raise ShapeError(f"All of the arrays in `x` should have the same length. Found "
                                 f"a pair with: len(x[0]) = {len(x)}, len(x[?]) = {len(misc)}")
        if subset is not None:
            split = int(len(x) * image_data_generator._validation_split)
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x_misc = [misc[part] for misc in x_misc]
            x, y, sample_weight = self._subset(x, y, sample_weight, subset, ignore_class_split,
                                               image_data_generator._validation_split)
        self.x, self.y, self.x_misc = x, None if y is None else np.asarray(y), x_misc
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        super().__init__(len(x), batch_size, shuffle, seed)

    @staticmethod
    def _subset(x: np.ndarray, y: Any, sample_weight: Any, subset: str,
                ignore_class_split: bool, validation_split: float) -> tuple:
        if subset not in ("training", "validation"):
            raise ConfigError(f"Invalid subset name: {subset}; expected 'training' or "
                              f"'validation'")
        split = int(len(x) * validation_split)
        if y is not None and not ignore_class_split and not np.array_equal(
                np.unique(np.asarray(y)[:split]), np.unique(np.asarray(y)[split:])):
            raise ConfigError("Training and validation subsets have different number of "
                              "classes after the split. If your numpy arrays are sorted "
                              "by the label, you might want to shuffle them.")
        part = slice(None, split) if subset == "validation" else slice(split, None)
        return (x[part], None if y is None else np.asarray(y)[part],
                None if sample_weight is None else np.asarray(sample_weight)[part])

    def _batch(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = _augmented(gen, self.x[j].astype(self.dtype))
        self.save(batch_x, index_array)
        miscs = [misc[index_array] for misc in self.x_misc]
        output: tuple = (batch_x if not miscs else [batch_x] + miscs,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


def _class_files(directory: str, name: str, split: tuple[float, float] | None,
                 follow_links: bool) -> list[str]:
    """Paths (relative to ``directory``) of one class's images, in tf-keras's order and part."""
    root_dir = os.path.join(directory, name)
    found = []
    for root, _, files in sorted(os.walk(root_dir, followlinks=follow_links), key=lambda w: w[0]):
        for fname in sorted(files):
            if fname.lower().endswith(DIRECTORY_FORMATS):
                found.append(os.path.join(name, os.path.relpath(os.path.join(root, fname),
                                                                root_dir)))
    if split:
        found = found[int(split[0] * len(found)):int(split[1] * len(found))]
    return found


class DirectoryIterator(Iterator):
    """Batches of images read from ``directory/<class>/...`` files (``load_img`` with
    ``target_size``, ``color_mode``, ``interpolation``, ``keep_aspect_ratio``), augmented by
    the generator, with labels as ``class_mode`` says (``categorical`` one-hot, ``binary``/
    ``sparse`` class indices, ``input`` the images, None no labels).

    Example:
        >>> from savepoint.preprocessing.image import ImageDataGenerator, save_img
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "cats"))
        >>> save_img(os.path.join(d, "cats", "a.png"), np.zeros((4, 6, 3)))
        >>> it = DirectoryIterator(d, ImageDataGenerator(), (2, 2), class_mode="sparse")
        Found 1 images belonging to 1 classes.
        >>> it[0][1].tolist()
        [0.0]
    """

    def __init__(self, directory: str, image_data_generator: Any,
                 target_size: TypingSequence[int] = (256, 256), color_mode: str = "rgb",
                 classes: TypingSequence[str] | None = None, class_mode: str | None = "categorical",
                 batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
                 follow_links: bool = False, subset: str | None = None,
                 interpolation: str = "nearest", keep_aspect_ratio: bool = False,
                 dtype: str | None = None, save_to_dir: str | None = None,
                 save_prefix: str = "", save_format: str = "png"):
        if color_mode not in CHANNELS:
            raise ConfigError(f'Expected `color_mode` to be "rgb", "rgba", or "grayscale". '
                              f"Received: color_mode={color_mode!r}.")
        if class_mode not in CLASS_MODES:
            raise ConfigError(f"Expected `class_mode` to be one of {list(CLASS_MODES)}. "
                              f"Received: class_mode={class_mode!r}.")
        if not os.path.isdir(directory):
            raise ConfigError(f"Expected `directory` to be an existing directory. Received: "
                              f"{directory!r}.")
        self.directory, self.class_mode, self.color_mode = directory, class_mode, color_mode
        self.target_size, self.interpolation = tuple(target_size), interpolation
        self.keep_aspect_ratio, self.dtype = keep_aspect_ratio, dtype or backend.floatx()
        self.image_shape = self.target_size + (CHANNELS[color_mode],)
        self.image_data_generator = image_data_generator
        self.save = SaveToDir(save_to_dir, save_prefix, save_format, 1e7)
        split = self._split(subset, image_data_generator._validation_split)
        names = list(classes) if classes else sorted(
            d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.num_classes = len(names)
        per_class = [_class_files(directory, name, split, follow_links) for name in names]
        self.filenames = [f for files in per_class for f in files]
        self.classes = np.array([i for i, files in enumerate(per_class) for _ in files], "int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self.filepaths = [os.path.join(directory, f) for f in self.filenames]
        self.labels = self.classes
        super().__init__(self.samples, batch_size, shuffle, seed)

    @staticmethod
    def _split(subset: str | None, validation_split: float) -> tuple[float, float] | None:
        if subset is None:
            return None
        if subset not in ("training", "validation"):
            raise ConfigError(f"Expected `subset` 'training' or 'validation'. Received: "
                              f"subset={subset!r}.")
        return (0, validation_split) if subset == "validation" else (validation_split, 1)

    def _batch(self, index_array: np.ndarray) -> Any:
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(self.filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size, interpolation=self.interpolation,
                           keep_aspect_ratio=self.keep_aspect_ratio)
            batch_x[i] = _augmented(self.image_data_generator, img_to_array(img))
        self.save(batch_x, index_array)
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(batch_x)), self.classes[index_array]] = 1.0
        else:
            batch_y = self.classes[index_array].astype(self.dtype)
        return batch_x, batch_y


__all__ = ["DirectoryIterator", "Iterator", "NumpyArrayIterator", "SaveToDir"]
