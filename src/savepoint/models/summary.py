"""``model.summary()``: tf.keras 2's layer table (with "Connected to" for branching graphs)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from savepoint.layers.symbolic import map_structure

# tf.keras breaks a long cell after one of these (a list of connections, nested shapes).
_LINE_BREAKS = ("),", "},", "],", "',")


def _format_shape(layer: Any) -> str:
    if type(layer).__name__ == "InputLayer":
        try:
            return str([tuple(layer.output_shape)])
        except Exception:
            return "multiple"
    nodes = getattr(layer, "_inbound_nodes", [])
    try:
        if len(nodes) > 1:  # tf.keras: one shape if every call agrees, else "multiple"
            shapes = [map_structure(lambda t: t.shape, n.outputs) for n in nodes]
            if any(s != shapes[0] for s in shapes):
                return "multiple"
            return str(shapes[0])
        return str(layer.output_shape)
    except Exception:
        return "multiple" if layer.built else "(unbuilt)"


def _count(weights: list) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _memory(weights: list) -> str:
    """tf.keras 2.21's ``readable_memory_size`` of the weights' bytes: "1.55 MB"."""
    size: float = float(sum(int(np.prod(w.shape)) * w.value.element_size() for w in weights))
    for unit in ("Byte", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _own_node(layer: Any) -> int:
    """1 for a nested network that tf.keras gives a node of its own (see dialects.keras2)."""
    graph = getattr(layer, "_graph", None)
    stack_input = getattr(layer, "_input_layer", None)
    return 1 if graph is not None or stack_input is not None else 0


def _graph_nodes(model: Any) -> list | None:
    graph = getattr(model, "_graph", None)
    return None if graph is None else graph.nodes


def _sequential_like(model: Any) -> bool:
    """tf.keras's test: no depth holds two nodes, no node takes two inputs, and no layer is
    called twice in the model."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return True
    by_depth: dict[int, list] = {}
    for node in graph.nodes:
        by_depth.setdefault(graph.node_depth[id(node)], []).append(node)
    if any(len(v) > 1 or len(v[0].input_tensors) > 1 for v in by_depth.values()):
        return False
    in_graph = {id(n) for n in graph.nodes}
    return all(sum(id(n) in in_graph for n in layer._inbound_nodes) <= 1
               for layer in model.layers)


def _connections(layer: Any, nodes: list) -> list[str]:
    in_graph = {id(n) for n in nodes}
    found = []
    for node in layer._inbound_nodes:
        if id(node) not in in_graph:
            continue
        for tensor in node.input_tensors:
            source, node_index, tensor_index = tensor._history
            found.append(f"{source.name}[{node_index + _own_node(source)}][{tensor_index}]")
    return found


def _printer(positions: list[int], print_fn: Callable) -> Callable:
    def print_row(fields: list) -> None:
        """tf.keras's ``print_row``: cells wrap onto further lines at natural breaks."""
        left = [str(f) for f in fields]
        while any(left):
            line = ""
            for col in range(len(left)):
                start = positions[col - 1] if col > 0 else 0
                space = 2 if col != len(positions) - 1 else 0
                cutoff = positions[col] - start - space
                if col != len(positions) - 1:
                    cutoff -= 1
                fit = left[col][:cutoff]
                breaks = [fit.find(b) + len(b) for b in _LINE_BREAKS if fit.find(b) >= 0]
                if breaks:
                    cutoff = min(breaks)
                    fit = fit[:cutoff]
                if col == 0:
                    line += " "
                line += fit + (" " * space if space else "")
                left[col] = left[col][cutoff:]
                line += " " * (positions[col] - len(line))
            print_fn(line)
    return print_row


def print_summary(model: Any, line_length: int | None = None, positions: list | None = None,
                  print_fn: Callable | None = None) -> None:
    """Print tf.keras 2's summary table of ``model``: name, output shape and parameter count
    per layer, plus a "Connected to" column when the graph branches or merges.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> m.summary()  # doctest: +ELLIPSIS
        Model: "sequential..."
        ...
    """
    print_fn = print_fn or print
    sequential_like = _sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.3, 0.6, 0.70, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    print_row = _printer(list(positions), print_fn)
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_row(header)
    print_fn("=" * line_length)
    nodes = _graph_nodes(model) or []
    for layer in model.layers:
        is_network = getattr(layer, "_graph", None) is not None
        params = layer.count_params() if layer.built or is_network else "0 (unused)"
        fields = [f"{layer.name} ({type(layer).__name__})", _format_shape(layer), params]
        if not sequential_like:
            fields.append(_connections(layer, nodes))
        print_row(fields)
        print_fn(" " * line_length)
    print_fn("=" * line_length)
    trainable, frozen = model.trainable_weights, model.non_trainable_weights
    train, fixed = _count(trainable), _count(frozen)
    # tf.keras 2.21's footer: plain counts, then the weights' memory
    print_fn(f"Total params: {train + fixed} ({_memory(trainable + frozen)})")
    print_fn(f"Trainable params: {train} ({_memory(trainable)})")
    print_fn(f"Non-trainable params: {fixed} ({_memory(frozen)})")
    print_fn("_" * line_length)


__all__ = ["print_summary"]
