"""``model.summary()``: the Keras layer table with output shapes and parameter counts."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from savepoint.layers.symbolic import map_structure


def _format_shape(layer: Any) -> str:
    try:
        shape = layer.output_shape
    except Exception:
        return "multiple" if layer.built else "(unbuilt)"
    if type(layer).__name__ == "InputLayer":
        return str([tuple(shape)])
    return str(shape)


def _fmt_bytes(n: int) -> str:
    units = ["Byte", "KB", "MB", "GB", "TB"]
    size, unit = float(n), 0
    while size >= 1024 and unit < len(units) - 1:
        size /= 1024
        unit += 1
    return f"{size:.2f} {units[unit]}"


def _count(weights: list) -> tuple[int, int]:
    return (int(sum(int(np.prod(w.shape)) for w in weights)),
            int(sum(int(np.prod(w.shape)) * w.value.element_size() for w in weights)))


def print_summary(model: Any, line_length: int = 65, print_fn: Callable | None = None) -> None:
    """Print the Keras summary table of ``model``.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> m.summary()  # doctest: +ELLIPSIS
        Model: "sequential..."
        ...
    """
    print_fn = print_fn or print
    positions = [int(line_length * p) for p in (0.45, 0.85, 1.0)]
    header = ["Layer (type)", "Output Shape", "Param #"]

    widths = [positions[0] - 1, positions[1] - positions[0], positions[2] - positions[1]]

    def row(fields: list) -> str:
        cells = [str(f)[:w - (2 if i < 2 else 0)].ljust(w) for i, (f, w) in
                 enumerate(zip(fields, widths))]
        return " " + "".join(cells)

    lines = [f'Model: "{model.name}"', "_" * line_length, row(header), "=" * line_length]
    layers = model.layers
    for i, layer in enumerate(layers):
        params = layer.count_params() if layer.built else 0
        lines.append(row([f"{layer.name} ({type(layer).__name__})", _format_shape(layer), params]))
        lines.append(" " * line_length if i < len(layers) - 1 else " " * line_length)
    lines.append("=" * line_length)
    total, total_b = _count(model.weights)
    train, train_b = _count(model.trainable_weights)
    lines.append(f"Total params: {total:,} ({_fmt_bytes(total_b)})")
    lines.append(f"Trainable params: {train:,} ({_fmt_bytes(train_b)})")
    lines.append(f"Non-trainable params: {total - train:,} ({_fmt_bytes(total_b - train_b)})")
    lines.append("_" * line_length)
    for line in lines:
        print_fn(line)


__all__ = ["print_summary", "map_structure"]
