"""Projective image transforms with the semantics of TF's ``ImageProjectiveTransformV3`` (fill
modes ``reflect``/``wrap``/``constant``/``nearest``, ``nearest``/``bilinear`` sampling) and the
rotation, zoom and translation matrices tf.keras builds for its random layers."""

from __future__ import annotations

import math

import torch

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
SAMPLINGS = ("nearest", "bilinear")


def _map(coord: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """Out-of-image coordinates folded back inside as TF's ``MapCoordinate`` does."""
    if mode == "constant":
        return coord
    if size <= 1:
        return torch.zeros_like(coord)
    if mode == "reflect":
        sz2 = 2 * size
        neg = coord < 0
        low = sz2 * torch.trunc(-coord / sz2) + coord
        low = torch.where(low < -size, low + sz2, -low - 1)
        high = coord - sz2 * torch.trunc(coord / sz2)
        high = torch.where(high >= size, sz2 - high - 1, high)
        coord = torch.where(neg, low, torch.where(coord > size - 1, high, coord))
    elif mode == "wrap":
        sz = size - 1
        low = coord + size * (torch.trunc(-coord / sz) + 1)
        high = coord - size * torch.trunc(coord / sz)
        coord = torch.where(coord < 0, low, torch.where(coord > size - 1, high, coord))
    return torch.clamp(coord, 0.0, size - 1.0)


def _read(flat: torch.Tensor, y: torch.Tensor, x: torch.Tensor, height: int, width: int,
          fill: float) -> torch.Tensor:
    """Pixels at integer-valued ``(y, x)`` (N, H, W); outside the image reads ``fill``."""
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    index = (torch.clamp(y, 0, height - 1) * width + torch.clamp(x, 0, width - 1)).long()
    n, channels = flat.shape[0], flat.shape[-1]
    picked = torch.gather(flat, 1, index.reshape(n, -1, 1).expand(-1, -1, channels))
    picked = picked.reshape(*index.shape, channels)
    return torch.where(inside.unsqueeze(-1), picked, torch.full_like(picked, fill))


def transform(images: torch.Tensor, matrices: torch.Tensor, fill_mode: str = "reflect",
              interpolation: str = "bilinear", fill_value: float = 0.0) -> torch.Tensor:
    """Apply one 8-parameter projective transform per image of ``(N, H, W, C)`` ``images``.

    Row ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps output ``(x, y)`` to input
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``.

    Example:
        >>> identity = torch.tensor([[1.0, 0, 0, 0, 1.0, 0, 0, 0]])
        >>> img = torch.arange(4.0).reshape(1, 2, 2, 1)
        >>> bool((transform(img, identity) == img).all())
        True
    """
    n, height, width, channels = images.shape
    dev = images.device
    m = matrices.to(device=dev, dtype=torch.float32)
    ys = torch.arange(height, dtype=torch.float32, device=dev).view(1, height, 1)
    xs = torch.arange(width, dtype=torch.float32, device=dev).view(1, 1, width)
    col = lambda i: m[:, i].view(n, 1, 1)  # noqa: E731
    k = col(6) * xs + col(7) * ys + 1.0
    in_x = (col(0) * xs + col(1) * ys + col(2)) / k
    in_y = (col(3) * xs + col(4) * ys + col(5)) / k
    x, y = _map(in_x, width, fill_mode), _map(in_y, height, fill_mode)
    flat = images.reshape(n, height * width, channels)
    if interpolation == "nearest":
        out = _read(flat, torch.round(y), torch.round(x), height, width, fill_value)
    else:
        y0, x0 = torch.floor(y), torch.floor(x)
        y1, x1 = y0 + 1, x0 + 1
        wx0, wx1 = (x1 - x).unsqueeze(-1), (x - x0).unsqueeze(-1)
        top = wx0 * _read(flat, y0, x0, height, width, fill_value) + \
            wx1 * _read(flat, y0, x1, height, width, fill_value)
        bottom = wx0 * _read(flat, y1, x0, height, width, fill_value) + \
            wx1 * _read(flat, y1, x1, height, width, fill_value)
        out = (y1 - y).unsqueeze(-1) * top + (y - y0).unsqueeze(-1) * bottom
    return torch.where((k == 0).unsqueeze(-1), torch.full_like(out, fill_value), out)


def rotation_matrix(angles: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """tf.keras's rotation about the image center by ``angles`` (radians, counter-clockwise).

    Example:
        >>> rotation_matrix(torch.zeros(1), 4, 4).tolist()
        [[1.0, -0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]
    """
    cos, sin = torch.cos(angles), torch.sin(angles)
    w, h = float(width - 1), float(height - 1)
    x_off = (w - (cos * w - sin * h)) / 2.0
    y_off = (h - (sin * w + cos * h)) / 2.0
    zero = torch.zeros_like(angles)
    return torch.stack([cos, -sin, x_off, sin, cos, y_off, zero, zero], dim=1)


def zoom_matrix(zx: torch.Tensor, zy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """tf.keras's zoom about the image center (``z > 1`` shows more of the image)."""
    x_off = ((width - 1.0) / 2.0) * (1.0 - zx)
    y_off = ((height - 1.0) / 2.0) * (1.0 - zy)
    zero = torch.zeros_like(zx)
    return torch.stack([zx, zero, x_off, zero, zy, y_off, zero, zero], dim=1)


def translation_matrix(dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """tf.keras's translation by ``(dx, dy)`` pixels."""
    one, zero = torch.ones_like(dx), torch.zeros_like(dx)
    return torch.stack([one, zero, -dx, zero, one, -dy, zero, zero], dim=1)


TWO_PI = 2.0 * math.pi
