"""``text_dataset_from_directory`` and ``image_dataset_from_directory``: one class per
subdirectory, files indexed, shuffled and split exactly as tf.keras does, batches built on
demand (an ``ArrayDataset``-like sized, re-iterable dataset that ``fit`` accepts)."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Sequence

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError
from savepoint.saving import storage

TEXT_FORMATS = (".txt",)
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def index_directory(directory: str, labels: Any, formats: tuple[str, ...],
                    class_names: Sequence[str] | None = None, shuffle: bool = True,
                    seed: int | None = None, follow_links: bool = False):
    """``(file_paths, labels, class_names)``: files by class (subdirectories in sorted order,
    files walked in sorted order), shuffled with ``np.random.RandomState(seed)`` as tf.keras.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "a"))
        >>> _ = open(os.path.join(d, "a", "1.txt"), "w").write("x")
        >>> index_directory(d, "inferred", (".txt",), shuffle=False)[1].tolist()
        Found 1 files belonging to 1 classes.
        [0]
    """
    if not os.path.isdir(directory):
        raise ConfigError(f"Expected `directory` to be an existing directory. Received: "
                          f"{directory!r}.")
    if labels != "inferred":
        subdirs = [""]
        class_names = subdirs
    else:
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if not class_names:
            class_names = subdirs
        elif set(class_names) != set(subdirs):
            raise ConfigError(f"The `class_names` passed did not match the names of the "
                              f"subdirectories of the target directory. Expected: {subdirs}, "
                              f"but received: {list(class_names)}")
    class_indices = {name: i for i, name in enumerate(class_names)}
    filenames, label_list = [], []
    for subdir in subdirs:
        root_dir = os.path.join(directory, subdir)
        walk = sorted(os.walk(root_dir, followlinks=follow_links), key=lambda x: x[0])
        for root, _, files in walk:
            for fname in sorted(files):
                if fname.lower().endswith(formats):
                    filenames.append(os.path.join(subdir, os.path.relpath(
                        os.path.join(root, fname), root_dir)) if subdir else
                        os.path.relpath(os.path.join(root, fname), root_dir))
                    label_list.append(class_indices.get(subdir, 0))
    if labels not in ("inferred", None):
        if len(labels) != len(filenames):
            raise ConfigError(f"Expected the lengths of `labels` to match the number of files in "
                              f"the target directory. len(labels) is {len(labels)} while we "
                              f"found {len(filenames)} files in directory {directory}.")
        class_names = sorted(set(labels))
        label_array = np.asarray(labels)
    else:
        label_array = np.asarray(label_list, dtype="int32")
    if labels is None:  # tf-keras says what it found
        print(f"Found {len(filenames)} files.")
    else:
        print(f"Found {len(filenames)} files belonging to {len(class_names)} classes.")
    file_paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        np.random.RandomState(seed).shuffle(label_array)
    return file_paths, label_array, list(class_names)


def check_split(validation_split: float | None, subset: str | None, shuffle: bool,
                seed: int | None) -> None:
    """tf.keras's checks of ``validation_split``/``subset``/``seed``."""
    if validation_split and not 0 < validation_split < 1:
        raise ConfigError(f"`validation_split` must be between 0 and 1, received: "
                          f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ConfigError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ConfigError(f'`subset` must be either "training", "validation" or "both", '
                          f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ConfigError("If using `validation_split` and shuffling the data, you must provide "
                          "a `seed` argument, to make sure that there is no overlap between the "
                          "training and validation subset.")


def split(samples: list, labels: np.ndarray, validation_split: float | None,
          subset: str | None) -> tuple[list, np.ndarray]:
    """The training part (all but the last ``int(validation_split * n)``) or the validation
    part."""
    if not validation_split:
        return samples, labels
    n_val = int(validation_split * len(samples))
    if subset == "training":
        print(f"Using {len(samples) - n_val} files for training.")
        return samples[:-n_val], labels[:-n_val]
    print(f"Using {n_val} files for validation.")
    return samples[-n_val:], labels[-n_val:]


class FileDataset(torch.utils.data.IterableDataset):
    """Batches of ``(load(path) for each file, label)`` built on demand; ``class_names`` and
    ``file_paths`` as tf.keras's datasets carry them.

    Example:
        >>> ds = FileDataset(["a", "b", "c"], np.array([0, 1, 0]), lambda p: p, 2, "int", 2,
        ...                  ["x", "y"])
        >>> [(x.tolist(), y.tolist()) for x, y in ds]
        [(['a', 'b'], [0, 1]), (['c'], [0])]
    """

    def __init__(self, file_paths: list[str], labels: np.ndarray | None,
                 load: Callable[[str], Any], batch_size: int | None, label_mode: str | None,
                 num_classes: int, class_names: list[str], stack: Callable = np.stack):
        super().__init__()
        self.file_paths, self.labels, self.load = file_paths, labels, load
        self.batch_size, self.label_mode = batch_size, label_mode
        self.num_classes, self.class_names, self.stack = num_classes, class_names, stack

    def __len__(self) -> int:
        n = len(self.file_paths)
        return n if self.batch_size is None else math.ceil(n / self.batch_size)

    cardinality = __len__

    def _labels(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "binary":
            return labels.astype("float32")[..., None]
        if self.label_mode == "categorical":
            return np.eye(self.num_classes, dtype="float32")[labels]
        return labels

    def __iter__(self):
        step = self.batch_size or 1
        for start in range(0, len(self.file_paths), step):
            paths = self.file_paths[start:start + step]
            x = self.stack([self.load(p) for p in paths])
            x = x[0] if self.batch_size is None else x
            if self.labels is None or self.label_mode is None:
                yield x
                continue
            y = self._labels(np.asarray(self.labels[start:start + step]))
            yield x, (y[0] if self.batch_size is None else y)


def _read_text(path: str, max_length: int | None) -> str:
    try:
        text = storage.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"Expected UTF-8 text in {path}. Received undecodable bytes ({e}).") \
            from None
    return text[:max_length] if max_length is not None else text


def _check_label_mode(label_mode: str | None, labels: Any, num_classes: int) -> None:
    if label_mode not in ("int", "categorical", "binary", None):
        raise ConfigError(f'`label_mode` argument must be one of "int", "categorical", "binary", '
                          f"or None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        return
    if label_mode == "binary" and num_classes != 2:
        raise ConfigError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                          f"class_names. Received: class_names of length {num_classes}")


def text_dataset_from_directory(directory: str, labels: Any = "inferred",
                                label_mode: str | None = "int",
                                class_names: Sequence[str] | None = None,
                                batch_size: int | None = 32, max_length: int | None = None,
                                shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None,
                                subset: str | None = None, follow_links: bool = False):
    """A dataset of ``(texts, labels)`` batches from ``.txt`` files, one class per
    subdirectory, as ``tf.keras.utils.text_dataset_from_directory`` (texts are ``str`` in a
    numpy object array, truncated to ``max_length`` characters). ``subset="both"`` returns
    ``(train, validation)``. With ``shuffle`` the file order is tf.keras's; tf.keras then also
    shuffles batches through a buffer, which is not reproduced.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "pos"))
        >>> _ = open(os.path.join(d, "pos", "1.txt"), "w").write("good")
        >>> ds = text_dataset_from_directory(d, shuffle=False); ds.class_names
        Found 1 files belonging to 1 classes.
        ['pos']
    """
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ConfigError(f'`labels` argument should be a list/tuple of integer labels, of '
                          f'the same size as the number of text files in the target directory. '
                          f'If you wish to infer the labels from the subdirectory names in the '
                          f'target directory, pass `labels="inferred"`. If you wish to get a '
                          f'dataset that only contains text samples (no labels), pass '
                          f'`labels=None`. Received: labels={labels}')
    check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_array, names = index_directory(directory, labels, TEXT_FORMATS, class_names,
                                                shuffle, seed, follow_links)
    _check_label_mode(label_mode, labels, len(names))

    def make(part: str | None) -> FileDataset:
        p, y = split(paths, label_array, validation_split, part)
        return FileDataset(p, None if labels is None else y,
                           lambda f: _read_text(f, max_length), batch_size, label_mode,
                           len(names), names, stack=lambda xs: np.array(xs + [None],
                                                                         dtype=object)[:-1])
    if subset == "both":
        return make("training"), make("validation")
    return make(subset)


def image_dataset_from_directory(directory: str, labels: Any = "inferred",
                                 label_mode: str | None = "int",
                                 class_names: Sequence[str] | None = None,
                                 color_mode: str = "rgb", batch_size: int | None = 32,
                                 image_size: tuple[int, int] = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False,
                                 crop_to_aspect_ratio: bool = False):
    """A dataset of ``(images, labels)`` batches (``(n, h, w, c)``, values 0-255; float32, or
    uint8 with ``interpolation="nearest"``) from image files, one class per subdirectory, as
    ``tf.keras.utils.image_dataset_from_directory``. Files are decoded with
    ``tf.image.decode_image``'s rules and resized with ``tf.image.resize``'s methods
    (``bilinear``, ``nearest``, ``bicubic``, ``area``): PNG, BMP and GIF give TensorFlow's
    exact values, JPEG within a few levels (see ``savepoint.utils.image_decoding``). Needs
    Pillow (the ``savepoint[image]`` extra; ``MissingDependencyError`` without it).

    Example:
        >>> import tempfile
        >>> from savepoint.utils.image_utils import save_img
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "cats"))
        >>> save_img(os.path.join(d, "cats", "a.png"), np.zeros((4, 6, 3)))
        >>> x, y = next(iter(image_dataset_from_directory(d, image_size=(2, 3))))
        Found 1 files belonging to 1 classes.
        >>> x.shape, y.tolist()
        ((1, 2, 3, 3), [0])
    """
    from savepoint.utils.image_decoding import (check_image_size, check_interpolation,
                                                color_mode_channels, load_resized)
    check_split(validation_split, subset, shuffle, seed)
    color_mode_channels(color_mode)
    check_interpolation(interpolation)
    size = check_image_size(image_size)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_array, names = index_directory(directory, labels, IMAGE_FORMATS, class_names,
                                                shuffle, seed, follow_links)
    _check_label_mode(label_mode, labels, len(names))

    def load(path: str) -> np.ndarray:
        return load_resized(path, storage.read_bytes(path), color_mode, size, interpolation,
                            crop_to_aspect_ratio)

    def make(part: str | None) -> FileDataset:
        p, y = split(paths, label_array, validation_split, part)
        return FileDataset(p, None if labels is None else y, load, batch_size, label_mode,
                           len(names), names)
    if subset == "both":
        return make("training"), make("validation")
    return make(subset)


__all__ = ["text_dataset_from_directory", "image_dataset_from_directory", "index_directory",
           "FileDataset"]
