"""``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``: tf-keras's image helpers on
Pillow, with its semantics (Pillow is the ``savepoint[image]`` extra; without it they raise
``MissingDependencyError``)."""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np

from savepoint.errors import ConfigError, MissingDependencyError

_FILTERS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC",
            "hamming": "HAMMING", "box": "BOX", "lanczos": "LANCZOS"}
# tf-keras keeps 16- and 32-bit grayscale as they are; anything else becomes 8-bit
_GRAY_MODES = ("L", "I;16", "I")


def pil_image() -> Any:
    """``PIL.Image``, or a ``MissingDependencyError`` naming the fix.

    Example:
        >>> pil_image().__name__
        'PIL.Image'
    """
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError(
            "Could not import PIL.Image. The use of `load_img`, `array_to_img`, `save_img` and "
            "`image_dataset_from_directory` requires PIL. Fix: `pip install pillow` (or "
            "savepoint's extra: `pip install 'savepoint[image]'`).") from None
    return Image


_pil = pil_image  # the name this module used first


def _open(path: Any, image_module: Any) -> Any:
    if isinstance(path, io.BytesIO):
        return image_module.open(path)
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ConfigError(f"Expected `path` to be a path (str, bytes, pathlib.Path) or an "
                          f"io.BytesIO. Received: {type(path).__name__}.")
    with open(os.fsdecode(path), "rb") as f:
        return image_module.open(io.BytesIO(f.read()))


def _converted(img: Any, color_mode: str) -> Any:
    if color_mode == "grayscale":
        return img if img.mode in _GRAY_MODES else img.convert("L")
    if color_mode in ("rgba", "rgb"):
        mode = color_mode.upper()
        return img if img.mode == mode else img.convert(mode)
    raise ConfigError(f'Expected `color_mode` to be "grayscale", "rgb", or "rgba". Received: '
                      f"color_mode={color_mode!r}.")


def _aspect_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """The centered box of the target's aspect ratio (integer arithmetic, as tf-keras)."""
    width, height = size
    target_width, target_height = target
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return left, top, left + crop_width, top + crop_height


def load_img(path: str | os.PathLike | io.BytesIO, grayscale: bool = False,
             color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """A PIL image from ``path`` (or an ``io.BytesIO``) in ``color_mode`` (``rgb``, ``rgba``,
    ``grayscale``: 16- and 32-bit grayscale stay as they are), resized to ``target_size``
    ``(height, width)`` with Pillow's ``interpolation`` (``nearest``, ``bilinear``, ``bicubic``,
    ``hamming``, ``box``, ``lanczos``); ``keep_aspect_ratio`` resizes the largest centered box
    of the target's aspect ratio. Exactly tf-keras's ``load_img``.

    Example:
        >>> buf = io.BytesIO(); pil_image().new("RGB", (4, 2)).save(buf, "PNG")
        >>> load_img(buf, color_mode="grayscale", target_size=(3, 3)).size
        (3, 3)
    """
    if grayscale:
        warnings.warn("grayscale is deprecated. Please use color_mode = \"grayscale\"",
                      stacklevel=2)
        color_mode = "grayscale"
    image_module = pil_image()
    img = _converted(_open(path, image_module), color_mode)
    if target_size is None:
        return img
    width_height = (int(target_size[1]), int(target_size[0]))
    if img.size == width_height:
        return img
    if interpolation not in _FILTERS:
        raise ConfigError(f"Expected `interpolation` to be one of {', '.join(_FILTERS)}. "
                          f"Received: interpolation={interpolation!r}.")
    resample = getattr(image_module.Resampling, _FILTERS[interpolation])
    box = _aspect_box(img.size, width_height) if keep_aspect_ratio else None
    return img.resize(width_height, resample, box=box)


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL image (or array) as a float32 ``(height, width, channels)`` array.

    Example:
        >>> img_to_array(np.zeros((2, 3), "uint8")).shape
        (2, 3, 1)
    """
    if data_format not in (None, "channels_last", "channels_first"):
        raise ConfigError(f"Expected `data_format` 'channels_last' or 'channels_first'. "
                          f"Received: data_format={data_format!r}.")
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ConfigError(f"Expected an image of rank 2 or 3. Received: an array with shape "
                          f"{x.shape}.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: str | None = None) -> Any:
    """A ``(height, width, channels)`` array as a PIL image (``L``, ``RGB`` or ``RGBA``; one
    channel with values over 255 gives a 32-bit ``I`` image); ``scale`` maps the array's range
    to 0-255 first. Exactly tf-keras's ``array_to_img``.

    Example:
        >>> array_to_img(np.zeros((4, 4, 3))).mode
        'RGB'
    """
    image_module = pil_image()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ConfigError(f"Expected image array to have rank 3 (single image). Received an "
                          f"array with shape: {x.shape}.")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_first", "channels_last"):
        raise ConfigError(f"Expected `data_format` 'channels_last' or 'channels_first'. "
                          f"Received: data_format={data_format!r}.")
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
        raise ConfigError(f"Expected 1, 3 or 4 channels. Received: an array with shape "
                          f"{x.shape} ({channels} channels).")
    if channels == 1:
        wide = np.max(x) > 255  # tf-keras: a 32-bit signed integer grayscale image
        return image_module.fromarray(x[:, :, 0].astype("int32" if wide else "uint8"))
    return image_module.fromarray(x.astype("uint8"))


def save_img(path: str | os.PathLike | io.BytesIO, x: Any, data_format: str | None = None,
             file_format: str | None = None, scale: bool = True, **kwargs: Any) -> None:
    """Save an image array to ``path`` through Pillow (``file_format`` and ``kwargs`` go to
    ``PIL.Image.save``); with ``file_format="jpg"``/``"jpeg"`` an RGBA image loses its alpha,
    with a warning, as in tf-keras.

    Example:
        >>> buf = io.BytesIO(); save_img(buf, np.zeros((4, 4, 3)), file_format="png")
        >>> load_img(buf).size
        (4, 4)
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
        file_format = "jpeg"
    img.save(path if isinstance(path, io.BytesIO) else os.fspath(path), format=file_format,
             **kwargs)


__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "pil_image"]
