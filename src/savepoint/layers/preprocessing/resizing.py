"""``Resizing`` and the resize kernels with ``tf.image.resize`` semantics (half-pixel centers, no
antialiasing) that Resizing, CenterCrop and RandomCrop share."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import (as_batched_image, check_choice,
                                                   check_data_format, positive_int)
from savepoint.serialization import builtin

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")
_TABLE = 1024  # TF's bicubic kernel reads its weights from a table of this many steps


@functools.lru_cache(maxsize=1)
def _keys_table() -> np.ndarray:
    """TF's Keys cubic table (a = -0.5): entry ``2i`` is the weight at distance ``i/1024``,
    entry ``2i+1`` at distance ``1 + i/1024``."""
    a = -0.5
    x = np.arange(_TABLE + 1, dtype=np.float64) / _TABLE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    table = np.empty(2 * (_TABLE + 1), np.float32)
    table[0::2], table[1::2] = near, far
    return table


@functools.lru_cache(maxsize=256)
def _matrix(method: str, out_size: int, in_size: int) -> np.ndarray:
    """The ``(out_size, in_size)`` interpolation matrix of one axis (bicubic or area)."""
    scale = in_size / out_size
    w = np.zeros((out_size, in_size), np.float64)
    if method == "bicubic":
        table = _keys_table()
        for o in range(out_size):
            src = (o + 0.5) * scale - 0.5
            base = int(np.floor(src))
            offset = int(np.rint((src - base) * _TABLE))  # lrintf: round half to even
            taps = (table[offset * 2 + 1], table[offset * 2], table[(_TABLE - offset) * 2],
                    table[(_TABLE - offset) * 2 + 1])
            # Keys kernel in TF: taps outside the image get weight 0, the rest renormalized
            idx = [base - 1 + k for k in range(4)]
            kept = [(min(max(i, 0), in_size - 1), float(t)) for i, t in zip(idx, taps)
                    if 0 <= i < in_size]
            total = sum(t for _, t in kept)
            for i, t in kept:
                w[o, i] += t / total
    else:  # area: the mean over the box [o * scale, (o + 1) * scale)
        for o in range(out_size):
            start, stop = o * scale, (o + 1) * scale
            v = int(np.floor(start))
            while v < stop:
                cover = min(v + 1.0, stop) - max(float(v), start)
                w[o, min(v, in_size - 1)] += cover / scale
                v += 1
    return w


def resize(images: torch.Tensor, size: tuple[int, int], method: str = "bilinear") -> torch.Tensor:
    """``tf.image.resize(images, size, method)`` for channels-last ``(N, H, W, C)`` floats.

    Example:
        >>> resize(torch.ones(1, 4, 4, 1), (2, 3)).shape
        torch.Size([1, 2, 3, 1])
    """
    height, width = size
    in_h, in_w = images.shape[1], images.shape[2]
    if method == "bilinear":
        out = F.interpolate(images.permute(0, 3, 1, 2), size=(height, width), mode="bilinear",
                            align_corners=False, antialias=False)
        return out.permute(0, 2, 3, 1)
    if method == "nearest":  # TF: floor((o + 0.5) * scale), clamped to the last pixel
        rows = torch.clamp(torch.floor((torch.arange(height, dtype=torch.float64) + 0.5) *
                                       (in_h / height)), max=in_h - 1).long()
        cols = torch.clamp(torch.floor((torch.arange(width, dtype=torch.float64) + 0.5) *
                                       (in_w / width)), max=in_w - 1).long()
        return images[:, rows.to(images.device)][:, :, cols.to(images.device)]
    wh = torch.from_numpy(_matrix(method, height, in_h)).to(images.device, images.dtype)
    ww = torch.from_numpy(_matrix(method, width, in_w)).to(images.device, images.dtype)
    return torch.einsum("oh,nhwc,pw->nopc", wh, images, ww)


def crop_box(in_h: int, in_w: int, height: int, width: int) -> tuple[int, int, int, int]:
    """``smart_resize``'s centered crop with the target aspect ratio: ``(top, left, h, w)``."""
    crop_h = min(in_h, int(np.float32(in_w * height) / np.float32(width)))
    crop_w = min(in_w, int(np.float32(in_h * width) / np.float32(height)))
    return (int(np.float32(in_h - crop_h) / 2), int(np.float32(in_w - crop_w) / 2), crop_h, crop_w)


def smart_resize(images: torch.Tensor, size: tuple[int, int],
                 method: str = "bilinear") -> torch.Tensor:
    """Crop the largest centered box of the target aspect ratio, then resize (Keras's
    ``smart_resize``).

    Example:
        >>> smart_resize(torch.ones(1, 4, 8, 1), (2, 2)).shape
        torch.Size([1, 2, 2, 1])
    """
    top, left, h, w = crop_box(images.shape[1], images.shape[2], *size)
    return resize(images[:, top:top + h, left:left + w], size, method)


@builtin("layers")
class Resizing(Layer):
    """Resize images to ``(height, width)`` as ``tf.image.resize`` does (``bilinear``,
    ``nearest``, ``bicubic`` or ``area``), optionally cropping to the aspect ratio first.

    Example:
        >>> Resizing(2, 3)(np.ones((1, 4, 4, 3), "float32")).shape
        torch.Size([1, 2, 3, 3])
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 data_format: str | None = None, antialias: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.height = positive_int("Resizing", "height", height)
        self.width = positive_int("Resizing", "width", width)
        self.interpolation = check_choice("Resizing", "interpolation", interpolation,
                                          INTERPOLATIONS)
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        # Keras 3 arguments, accepted at their defaults only
        check_choice("Resizing", "pad_to_aspect_ratio", pad_to_aspect_ratio, (False,))
        check_choice("Resizing", "fill_mode", fill_mode, ("constant",))
        check_choice("Resizing", "antialias", antialias, (False,))
        check_data_format("Resizing", data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        images, unbatched = as_batched_image(self, inputs)
        fn = smart_resize if self.crop_to_aspect_ratio else resize
        out = fn(images, (self.height, self.width), self.interpolation)
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio}
