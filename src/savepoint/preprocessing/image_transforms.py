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


def _check_axes(x: np.ndarray, row_axis: int, col_axis: int, channel_axis: int) -> None:
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2] or channel_axis not in (0, 2):
        raise ConfigError(f"Expected distinct axes 0, 1, 2 with channels first (0) or last (2). "
                          f"Received: row_axis={row_axis}, col_axis={col_axis}, channel_axis="
                          f"{channel_axis}. Fix: channels-last images take row_axis=0, "
                          f"col_axis=1, channel_axis=2.")
    if x.ndim != 3:
        raise ConfigError(f"Expected a single image of rank 3. Received an array with shape "
                          f"{x.shape}.")


def apply_affine_transform(x: np.ndarray, theta: float = 0, tx: float = 0, ty: float = 0,
                           shear: float = 0, zx: float = 1, zy: float = 1, row_axis: int = 1,
                           col_axis: int = 2, channel_axis: int = 0, fill_mode: str = "nearest",
                           cval: float = 0.0, order: int = 1) -> np.ndarray:
    """Warp one image exactly as tf-keras's ``apply_affine_transform`` (rotation ``theta`` and
    ``shear`` in degrees, shifts ``tx``/``ty`` in pixels, zooms ``zx``/``zy`` above 1 zoom out,
    all about the center, with tf-keras's axis conventions; its default axes are channels-first,
    so pass ``row_axis=0, col_axis=1, channel_axis=2`` for an ``(h, w, c)`` image); points from
    outside the image follow ``fill_mode`` (``constant`` uses ``cval``); ``order`` is the
    spline order.

    Example:
        >>> x = np.arange(9.0).reshape(3, 3, 1)
        >>> apply_affine_transform(x, tx=1.0, row_axis=0, col_axis=1, channel_axis=2,
        ...                        fill_mode="constant")[:, :, 0].tolist()
        [[1.0, 2.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
    """
    if fill_mode not in FILL_MODES:
        raise ConfigError(f"Expected `fill_mode` to be one of {list(FILL_MODES)}. Received: "
                          f"fill_mode={fill_mode!r}.")
    x = np.asarray(x)
    _check_axes(x, row_axis, col_axis, channel_axis)
    matrix = affine_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    ndimage = _ndimage()
    matrix = _offset_center(matrix, x.shape[row_axis], x.shape[col_axis])
    if col_axis > row_axis:  # the matrix is in (x, y) order; numpy indexes (row, col)
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    channels = [ndimage.affine_transform(c, matrix[:2, :2], matrix[:2, 2], order=order,
                                         mode=fill_mode, cval=cval)
                for c in np.rollaxis(x, channel_axis, 0)]
    return np.rollaxis(np.stack(channels, axis=0), 0, channel_axis + 1)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 0) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's own min and max (tf-keras).

    Example:
        >>> apply_channel_shift(np.array([[[0.0, 5.0]]]), 3.0, channel_axis=2).tolist()
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


def random_rotation(x: np.ndarray, rg: float, row_axis: int = 1, col_axis: int = 2,
                    channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                    interpolation_order: int = 1) -> np.ndarray:
    """Rotate by a ``np.random`` angle in ``[-rg, rg]`` degrees (tf-keras's draw and axes).

    Example:
        >>> random_rotation(np.ones((3, 3, 1)), 30, 0, 1, 2).shape
        (3, 3, 1)
    """
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x: np.ndarray, wrg: float, hrg: float, row_axis: int = 1, col_axis: int = 2,
                 channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                 interpolation_order: int = 1) -> np.ndarray:
    """Shift by ``np.random`` fractions of the height (``hrg``) and width (``wrg``).

    Example:
        >>> random_shift(np.ones((3, 3, 1)), 0.1, 0.1, 0, 1, 2).shape
        (3, 3, 1)
    """
    h, w = np.shape(x)[row_axis], np.shape(x)[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x: np.ndarray, intensity: float, row_axis: int = 1, col_axis: int = 2,
                 channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                 interpolation_order: int = 1) -> np.ndarray:
    """Shear by a ``np.random`` angle in ``[-intensity, intensity]`` degrees.

    Example:
        >>> random_shear(np.ones((3, 3, 1)), 10, 0, 1, 2).shape
        (3, 3, 1)
    """
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x: np.ndarray, zoom_range: Any, row_axis: int = 1, col_axis: int = 2,
                channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                interpolation_order: int = 1) -> np.ndarray:
    """Zoom rows and columns by two ``np.random`` factors in ``zoom_range`` (``(1, 1)`` draws
    nothing).

    Example:
        >>> random_zoom(np.ones((3, 3, 1)), (0.9, 1.1), 0, 1, 2).shape
        (3, 3, 1)
    """
    if not isinstance(zoom_range, (list, tuple)) or len(zoom_range) != 2:
        raise ConfigError(f"Expected `zoom_range` to be a tuple or list of two floats. "
                          f"Received: {zoom_range!r}.")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_channel_shift(x: np.ndarray, intensity_range: float,
                         channel_axis: int = 0) -> np.ndarray:
    """A channel shift by a ``np.random`` intensity in ``[-intensity_range, intensity_range]``.

    Example:
        >>> random_channel_shift(np.ones((3, 3, 1)), 5.0, 2).shape
        (3, 3, 1)
    """
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def random_brightness(x: np.ndarray, brightness_range: Any, scale: bool = True) -> np.ndarray:
    """A brightness shift by a ``np.random`` factor in ``brightness_range``.

    Example:
        >>> random_brightness(np.ones((3, 3, 3)), (0.5, 1.5)).shape
        (3, 3, 3)
    """
    if not isinstance(brightness_range, (list, tuple)) or len(brightness_range) != 2:
        raise ConfigError(f"Expected `brightness_range` to be a tuple or list of two floats. "
                          f"Received: {brightness_range!r}.")
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)


__all__ = ["FILL_MODES", "affine_matrix", "apply_affine_transform", "apply_brightness_shift",
           "apply_channel_shift", "random_brightness", "random_channel_shift", "random_rotation",
           "random_shear", "random_shift", "random_zoom"]
