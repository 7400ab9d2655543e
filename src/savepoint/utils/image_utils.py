"""``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``: Keras's image helpers on
Pillow (a clear ``MissingDependencyError`` when Pillow is not installed)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from savepoint.errors import ConfigError, MissingDependencyError

_FILTERS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC",
            "hamming": "HAMMING", "box": "BOX", "lanczos": "LANCZOS"}


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError("Could not import PIL.Image. The use of `load_img`, "
                                     "`array_to_img` and `image_dataset_from_directory` "
                                     "requires PIL. Fix: `pip install pillow`.") from None
    return Image


def load_img(path: str | os.PathLike, grayscale: bool = False, color_mode: str = "rgb",
             target_size: tuple[int, int] | None = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> Any:
    """A PIL image from ``path`` in ``color_mode`` (``rgb``, ``rgba``, ``grayscale``),
    resized to ``target_size`` ``(height, width)`` when given.

    Example:
        >>> img = load_img("cat.png", target_size=(64, 64))  # doctest: +SKIP
    """
    image_module = _pil()
    if grayscale:
        color_mode = "grayscale"
    modes = {"grayscale": "L", "rgba": "RGBA", "rgb": "RGB"}
    if color_mode not in modes:
        raise ConfigError(f'color_mode must be "grayscale", "rgb", or "rgba". Received: '
                          f"color_mode={color_mode!r}")
    with open(os.fspath(path), "rb") as f:
        img = image_module.open(f)
        img.load()
    if img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        width, height = target_size[1], target_size[0]
        if interpolation not in _FILTERS:
            raise ConfigError(f"Invalid interpolation method {interpolation!r}. Supported "
                              f"methods are {', '.join(_FILTERS)}.")
        resample = getattr(image_module, _FILTERS[interpolation])
        if keep_aspect_ratio:  # crop the center to the target aspect ratio first, as Keras
            w, h = img.size
            crop_h = min(h, int(w * height / width))
            crop_w = min(w, int(h * width / height))
            left, top = (w - crop_w) // 2, (h - crop_h) // 2
            img = img.crop((left, top, left + crop_w, top + crop_h))
        if img.size != (width, height):
            img = img.resize((width, height), resample)
    return img


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL image (or array) as a float32 ``(height, width, channels)`` array.

    Example:
        >>> img_to_array(np.zeros((2, 3), "uint8")).shape
        (2, 3, 1)
    """
    if data_format not in (None, "channels_last", "channels_first"):
        raise ConfigError(f"Unknown data_format: {data_format}")
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ConfigError(f"Unsupported image shape: {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: str | None = None) -> Any:
    """A ``(height, width, channels)`` array as a PIL image; ``scale`` maps its range to
    0-255.

    Example:
        >>> img = array_to_img(np.zeros((4, 4, 3)))  # doctest: +SKIP
    """
    image_module = _pil()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ConfigError(f"Expected image array to have rank 3 (single image). Got array "
                          f"with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ConfigError(f"Unsupported channel number: {channels}")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    data = x.astype("uint8")
    return image_module.fromarray(data[:, :, 0] if channels == 1 else data, mode)


def save_img(path: str | os.PathLike, x: Any, data_format: str | None = None,
             file_format: str | None = None, scale: bool = True, **kwargs: Any) -> None:
    """Save an image array to ``path`` through Pillow.

    Example:
        >>> save_img("out.png", np.zeros((4, 4, 3)))  # doctest: +SKIP
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or file_format == "jpeg" or
                               str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(os.fspath(path), format=file_format, **kwargs)


__all__ = ["load_img", "img_to_array", "array_to_img", "save_img"]
