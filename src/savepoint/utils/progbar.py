"""The Keras progress bar: ``32/32 [=====] - 1s 13ms/step - loss: ...``, throttled, pipe-safe."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Iterable, TextIO

import numpy as np


def _is_dynamic(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules


def format_value(value: float) -> str:
    """Keras's number format: 4 decimals, or scientific below 1e-3 (with a leading space).

    Example:
        >>> format_value(0.5), format_value(1e-5)
        (' 0.5000', ' 1.0000e-05')
    """
    return f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"


def format_time_per_unit(seconds: float, unit: str) -> str:
    """Keras's time format: ``2s/step``, ``13ms/step`` or ``250us/step``.

    Example:
        >>> format_time_per_unit(0.013, "step")
        '13ms/step'
    """
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar that redraws in place on a terminal and prints one final line otherwise.

    Values are read only when a line is drawn, so passing lazy logs costs nothing in between.

    Example:
        >>> import io; out = io.StringIO()
        >>> bar = Progbar(2, stream=out); bar.update(2, {"loss": 0.5}, finalize=True)
        >>> "2/2 [==============================]" in out.getvalue()
        True
    """

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1,
                 interval: float = 0.05, unit_name: str = "step", stream: TextIO | None = None):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream or sys.stdout
        self._dynamic = _is_dynamic(self.stream)
        self._start = time.time()
        self._last_update = 0.0
        self._total_width = 0

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        """Draw the bar at ``current`` steps (throttled unless ``finalize``)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 1:
            now = time.time()
            if not finalize and (not self._dynamic or now - self._last_update < self.interval):
                return
            self._last_update = now
            self._draw_bar(current, values, finalize, now)
        elif self.verbose == 2 and finalize:
            self._draw_summary_line(current, values, time.time())

    def _items(self, values: Any) -> Iterable[tuple[str, float]]:
        if values is None:
            return []
        items = values.items() if hasattr(values, "items") else values
        # a per-class metric (an array) shows its mean, as tf.keras's progress bar does
        return [(k, float(v) if np.size(v) == 1 else float(np.mean(v))) for k, v in items]

    def _draw_bar(self, current: int, values: Any, finalize: bool, now: float) -> None:
        prev_width = self._total_width
        prefix = ("\b" * prev_width + "\r") if self._dynamic else ""
        if self.target is not None:
            digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
            bar = f"{current:{digits}d}/{self.target} ["
            filled = int(self.width * (current / self.target if self.target else 1))
            if filled > 0:
                bar += "=" * (filled - 1) + (">" if current < self.target else "=")
            bar += "." * (self.width - filled) + "]"
        else:
            bar = f"{current:7d}/Unknown"
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        if self.target is None or finalize:
            info = f" - {elapsed:.0f}s {format_time_per_unit(per_unit, self.unit_name)}"
        else:
            eta = per_unit * (self.target - current)
            info = f" - ETA: {_format_eta(eta)}"
        for key, value in self._items(values):
            info += f" - {key}:{format_value(value)}"
        self._total_width = len(bar) + len(info)
        if prev_width > self._total_width and self._dynamic:
            info += " " * (prev_width - self._total_width)
        if finalize:
            info += "\n"
        self.stream.write(prefix + bar + info)
        self.stream.flush()

    def _draw_summary_line(self, current: int, values: Any, now: float) -> None:
        elapsed = now - self._start
        digits = int(math.log10(self.target)) + 1 if self.target else 1
        count = f"{current:{digits}d}/{self.target}" if self.target else f"{current}"
        info = f"{count} - {elapsed:.0f}s"
        for key, value in self._items(values):
            info += f" - {key}:{format_value(value)}"
        per_unit = elapsed / current if current else 0.0
        info += f" - {format_time_per_unit(elapsed, 'epoch')}"
        info += f" - {format_time_per_unit(per_unit, self.unit_name)}\n"
        self.stream.write(info)
        self.stream.flush()


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600) // 60:02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"


__all__ = ["Progbar", "format_value"]
