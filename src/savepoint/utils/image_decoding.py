"""Image files as ``image_dataset_from_directory`` reads them in tf-keras: decoded with
``tf.image.decode_image``'s channel rules (through Pillow), then resized with ``tf.image.resize``.

What matches TensorFlow exactly: PNG, BMP and GIF pixels (palettes expanded, 16-bit samples cut to
their high byte, colour to gray with libpng's fixed-point ``(9797 R + 19234 G + 3737 B) >> 15``,
gray to colour replicated, alpha added as 255 or dropped) and the resize (savepoint's
``tf.image.resize``). What does not: JPEG pixels may differ by a few levels, because TensorFlow
decodes JPEG with libjpeg's fast integer IDCT and Pillow with the accurate one.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError
from savepoint.utils.image_utils import pil_image

FORMATS = ("PNG", "JPEG", "GIF", "BMP")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def color_mode_channels(color_mode: str) -> int:
    """Channels for ``color_mode`` (``grayscale`` 1, ``rgb`` 3, ``rgba`` 4).

    Example:
        >>> color_mode_channels("rgba")
        4
    """
    if color_mode not in _CHANNELS:
        raise ConfigError(f'Expected `color_mode` to be one of "grayscale", "rgb", "rgba". '
                          f"Received: color_mode={color_mode!r}.")
    return _CHANNELS[color_mode]


def _gray(rgb: np.ndarray) -> np.ndarray:
    """libpng's colour-to-gray (the coefficients TensorFlow's PNG decoder asks for), no
    rounding."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)


def decode_image(data: bytes, channels: int, name: str = "<bytes>") -> np.ndarray:
    """The first frame of a PNG/JPEG/GIF/BMP file as a uint8 ``(height, width, channels)``
    array, with ``tf.image.decode_image(data, channels, expand_animations=False)``'s rules.

    Example:
        >>> buf = io.BytesIO(); pil_image().new("RGB", (2, 1), (10, 200, 30)).save(buf, "PNG")
        >>> decode_image(buf.getvalue(), 1).tolist()
        [[[123], [123]]]
    """
    image_module = pil_image()
    try:
        img = image_module.open(io.BytesIO(data))
    except Exception as e:  # Pillow raises several types for bytes it cannot identify
        raise FormatError(f"Expected a JPEG, PNG, GIF or BMP image in {name}. Received bytes "
                          f"Pillow cannot read ({type(e).__name__}). Fix: remove the file or "
                          f"convert it.") from None
    if img.format not in FORMATS:
        raise FormatError(f"Expected a JPEG, PNG, GIF or BMP image in {name}. Received a "
                          f"{img.format} image. Fix: convert it to one of those formats.")
    if img.format == "JPEG" and channels == 1 and img.mode == "RGB":
        img.draft("L", img.size)  # libjpeg's own luma, as TensorFlow asks libjpeg for 1 channel
    if img.mode in _SIXTEEN_BIT:
        img = image_module.fromarray((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8))
    if channels == 1:
        if img.mode in ("L", "1", "LA"):
            return np.asarray(img.convert("L"))[..., None]
        return _gray(np.asarray(img.convert("RGB")))[..., None]
    return np.asarray(img.convert("RGB" if channels == 3 else "RGBA"))


def load_resized(path: str, data: bytes, color_mode: str, size: tuple[int, int],
                 interpolation: str, crop_to_aspect_ratio: bool) -> np.ndarray:
    """One dataset image: decoded, then ``tf.image.resize``d (after cropping the largest
    centered box of the target's aspect ratio with ``crop_to_aspect_ratio``). Float32, except
    ``nearest``, which keeps uint8, as TensorFlow's resize does.

    Example:
        >>> buf = io.BytesIO(); pil_image().new("L", (4, 2), 9).save(buf, "PNG")
        >>> load_resized("a.png", buf.getvalue(), "rgb", (3, 3), "bilinear", False).shape
        (3, 3, 3)
    """
    from savepoint.layers.preprocessing.resizing import resize, smart_resize
    check_interpolation(interpolation)
    pixels = decode_image(data, color_mode_channels(color_mode), path)
    images = torch.from_numpy(pixels.astype(np.float32))[None]
    out = (smart_resize if crop_to_aspect_ratio else resize)(images, size, interpolation)
    out = out[0].numpy()
    return out.astype(np.uint8) if interpolation == "nearest" else out


def check_interpolation(interpolation: str) -> str:
    """``interpolation`` if savepoint's ``tf.image.resize`` has it, else a ``ConfigError``
    (TensorFlow's ``lanczos3``/``lanczos5``/``gaussian``/``mitchellcubic`` are not implemented).

    Example:
        >>> check_interpolation("area")
        'area'
    """
    from savepoint.layers.preprocessing.resizing import INTERPOLATIONS
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"Expected `interpolation` to be one of {list(INTERPOLATIONS)} "
                          f"(tf.image.resize's methods that savepoint implements). Received: "
                          f"interpolation={interpolation!r}. Fix: use one of those.")
    return interpolation


def check_image_size(image_size: Any) -> tuple[int, int]:
    """``image_size`` as ``(height, width)`` of positive ints.

    Example:
        >>> check_image_size([64, 32])
        (64, 32)
    """
    ok = isinstance(image_size, (list, tuple)) and len(image_size) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size)
    if not ok:
        raise ConfigError(f"Expected `image_size` to be (height, width), two positive ints. "
                          f"Received: image_size={image_size!r}.")
    return int(image_size[0]), int(image_size[1])


__all__ = ["FORMATS", "check_image_size", "check_interpolation", "color_mode_channels",
           "decode_image", "load_resized"]
