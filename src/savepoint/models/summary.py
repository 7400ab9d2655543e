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


def _count(weights: list) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


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
    for layer in layers:
        params = layer.count_params() if layer.built else "0 (unused)"
        lines.append(row([f"{layer.name} ({type(layer).__name__})", _format_shape(layer), params]))
        lines.append(" " * line_length)
    lines.append("=" * line_length)
    train, frozen = _count(model.trainable_weights), _count(model.non_trainable_weights)
    lines.append(f"Total params: {train + frozen:,}")   # tf.keras 2 footer: "407,050"
    lines.append(f"Trainable params: {train:,}")
    lines.append(f"Non-trainable params: {frozen:,}")
    lines.append("_" * line_length)
    for line in lines:
        print_fn(line)


__all__ = ["print_summary", "map_structure"]
