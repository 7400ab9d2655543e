"""tf-keras 2's per-image augmentations for ``ImageDataGenerator``: the affine warp (rotation,
shift, shear, zoom about the image center) through ``scipy.ndimage.affine_transform`` as tf-keras
does it, channel shifts, and Pillow brightness. Images are single channels-last ``(h, w, c)``
arrays. scipy and Pillow come with the ``savepoint[image]`` extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.errors import ConfigError, MissingDependencyError
from savepoint.utils.image_utils import array_to_img, img_to_array, pil_image

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _ndimage() -> Any:
    try:
        from scipy import ndimage
    except ImportError:
        raise MissingDependencyError(
            "Could not import scipy.ndimage. Image transformations (rotation_range, "
            "width_shift_range, height_shift_range, shear_range, zoom_range) require SciPy. "
            "Fix: `pip install scipy` (or savepoint's extra: `pip install "
            "'savepoint[image]'`).") from None
    return ndimage


def _offset_center(matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """``matrix`` applied about the image center instead of the origin."""
    o_x, o_y = float(height) / 2 - 0.5, float(width) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset, matrix), reset)


def affine_matrix(theta: float = 0, tx: float = 0, ty: float = 0, shear: float = 0,
                  zx: float = 1, zy: float = 1) -> np.ndarray | None:
    """tf-keras's 3x3 matrix in (row, col) coordinates: rotation (degrees), then shift, shear
    (degrees), zoom; None for the identity.

    Example:
        >>> affine_matrix(tx=2.0).tolist()
        [[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    matrices = []
    if theta != 0:
        t = np.deg2rad(theta)
        matrices.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0],
                                  [0, 0, 1]]))
    if tx != 0 or ty != 0:
        matrices.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        matrices.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        matrices.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not matrices:
        return None
    out = matrices[0]
    for m in matrices[1:]:
        out = np.dot(out, m)
    return out.astype(np.float64)


def apply_affine_transform(x: np.ndarray, theta: float = 0, tx: float = 0, ty: float = 0,
                           shear: float = 0, zx: float = 1, zy: float = 1, row_axis: int = 0,
                           col_axis: int = 1, channel_axis: int = 2, fill_mode: str = "nearest",
                           cval: float = 0.0, order: int = 1) -> np.ndarray:
    """Warp one image exactly as tf-keras's ``apply_affine_transform`` (rotation ``theta`` and
    ``shear`` in degrees, shifts ``tx``/``ty`` in pixels, zooms ``zx``/``zy`` above 1 zoom out,
    all about the center, with tf-keras's axis conventions); points from outside the image
    follow ``fill_mode`` (``constant`` uses ``cval``); ``order`` is the spline order.
    savepoint's images are channels-last: the axes must be ``0, 1, 2``.

    Example:
        >>> x = np.arange(9.0).reshape(3, 3, 1)
        >>> apply_affine_transform(x, tx=1.0, fill_mode="constant")[:, :, 0].tolist()
        [[1.0, 2.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
    """
    if (row_axis, col_axis, channel_axis) != (0, 1, 2):
        raise ConfigError(f"Expected channels-last images: row_axis=0, col_axis=1, "
                          f"channel_axis=2. Received: row_axis={row_axis}, col_axis={col_axis}, "
                          f"channel_axis={channel_axis}. Fix: transpose the image to (h, w, c).")
    if fill_mode not in FILL_MODES:
        raise ConfigError(f"Expected `fill_mode` to be one of {list(FILL_MODES)}. Received: "
                          f"fill_mode={fill_mode!r}.")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ConfigError(f"Expected a single image of rank 3 (h, w, c). Received an array with "
                          f"shape {x.shape}.")
    matrix = affine_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    ndimage = _ndimage()
    matrix = _offset_center(matrix, x.shape[0], x.shape[1])
    # tf-keras builds the matrix in (x, y) order and swaps it into numpy's (row, col) order
    matrix[:, [0, 1]] = matrix[:, [1, 0]]
    matrix[[0, 1]] = matrix[[1, 0]]
    channels = [ndimage.affine_transform(x[:, :, c], matrix[:2, :2], matrix[:2, 2], order=order,
                                         mode=fill_mode, cval=cval)
                for c in range(x.shape[2])]
    return np.stack(channels, axis=2)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 2) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's own min and max (tf-keras).

    Example:
        >>> apply_channel_shift(np.array([[[0.0, 5.0]]]), 3.0).tolist()
        [[[3.0, 5.0]]]
    """
    x = np.rollaxis(np.asarray(x), channel_axis, 0)
    low, high = np.min(x), np.max(x)
    x = np.stack([np.clip(c + intensity, low, high) for c in x], axis=0)
    return np.rollaxis(x, 0, channel_axis + 1)


def apply_brightness_shift(x: np.ndarray, brightness: float, scale: bool = True) -> np.ndarray:
    """Pillow's ``ImageEnhance.Brightness(brightness)`` on the image as 8-bit (tf-keras: values
    outside 0-255 are scaled into it and, with ``scale=False``, back afterwards).

    Example:
        >>> apply_brightness_shift(np.full((1, 1, 3), 100.0), 0.5, scale=False).tolist()
        [[[50.0, 50.0, 50.0]]]
    """
    pil_image()  # the clear error first, when Pillow is missing
    from PIL import ImageEnhance
    x_min, x_max = np.min(x), np.max(x)
    local_scale = (x_min < 0) or (x_max > 255)
    img = ImageEnhance.Brightness(array_to_img(x, scale=local_scale or scale))
    out = img_to_array(img.enhance(brightness))
    if not scale and local_scale:
        out = out / 255 * (x_max - x_min) + x_min
    return out


__all__ = ["FILL_MODES", "affine_matrix", "apply_affine_transform", "apply_brightness_shift",
           "apply_channel_shift"]
