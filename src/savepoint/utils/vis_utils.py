"""``plot_model`` and ``model_to_dot``: a model's layer graph in Graphviz DOT, rendered by the
``dot`` program (any format it knows) or written as ``.dot`` text with no dependency at all."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from savepoint.errors import ConfigError, MissingDependencyError
from savepoint.saving import storage

_HINT = ("You must install pydot (`pip install pydot`) and install graphviz (see "
         "https://graphviz.gitlab.io/download/) for plot_model to work.")


def _label(layer: Any, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> str:
    class_name = type(layer).__name__
    text = f"{layer.name}: {class_name}" if show_layer_names else class_name
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        text += f"\\n{getattr(activation, '__name__', str(activation))}"
    if show_dtype:
        text += f"\\n{getattr(layer, 'dtype', '?')}"
    if show_shapes:
        try:
            out = layer.output_shape
        except Exception:  # noqa: BLE001 - an unbuilt or multi-node layer has no one shape
            out = "?"
        text += f"\\noutput: {out}"
    if show_trainable:
        text += f"\\ntrainable: {'T' if layer.trainable else 'F'}"
    return text.replace('"', '\\"')


def _edges(model: Any, layers: list) -> list[tuple[Any, Any]]:
    graph = getattr(model, "_graph", None)
    if graph is None:  # a Sequential stack: each layer feeds the next
        return list(zip(layers[:-1], layers[1:]))
    in_graph = {id(n) for n in graph.nodes}
    edges = []
    for layer in layers:
        for node in layer._inbound_nodes:
            if id(node) in in_graph:
                edges.extend((tensor._history[0], layer) for tensor in node.input_tensors)
    return edges


def dot_source(model: Any, show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", dpi: int = 96,
               layer_range: Any = None, show_layer_activations: bool = False,
               show_trainable: bool = False) -> str:
    """The model's layer graph as DOT text (one box per layer, one arrow per connection).

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="d")])
        >>> '"d: Dense"' in dot_source(m).replace("label=", "")
        True
    """
    if rankdir not in ("TB", "LR"):
        raise ConfigError(f"Expected rankdir 'TB' or 'LR'. Received: rankdir={rankdir!r}.")
    layers = list(getattr(model, "layers", []))
    if layer_range is not None:
        names = [layer.name for layer in layers]
        if len(layer_range) != 2 or any(n not in names for n in layer_range):
            raise ConfigError(f"Expected layer_range to be two layer names of the model. "
                              f"Received: {layer_range!r}; the layers are {names}.")
        first, last = names.index(layer_range[0]), names.index(layer_range[1])
        layers = layers[first:last + 1]
    lines = ["digraph G {", f'  graph [rankdir={rankdir}, dpi={int(dpi)}, concentrate=true];',
             "  node [shape=record];"]
    kept = {id(layer) for layer in layers}
    for layer in layers:
        label = _label(layer, show_shapes, show_dtype, show_layer_names,
                       show_layer_activations, show_trainable)
        lines.append(f'  {id(layer)} [label="{label}"];')
    for source, target in _edges(model, layers):
        if id(source) in kept and id(target) in kept:
            lines.append(f"  {id(source)} -> {id(target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 96, subgraph: bool = False,
                 layer_range: Any = None, show_layer_activations: bool = False,
                 show_trainable: bool = False) -> Any:
    """A ``pydot.Dot`` of the model, as tf.keras returns (needs ``pydot``; without it raises
    ``MissingDependencyError``: ``dot_source`` gives the same graph as text).

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> model_to_dot(m).get_node_list()  # doctest: +SKIP
    """
    try:
        import pydot
    except ImportError:
        raise MissingDependencyError(f"{_HINT} Received: no module named 'pydot'. Fix: install "
                                     f"pydot, or use savepoint.utils.vis_utils.dot_source(model) "
                                     f"for the DOT text.") from None
    text = dot_source(model, show_shapes, show_dtype, show_layer_names, rankdir, dpi,
                      layer_range, show_layer_activations, show_trainable)
    return pydot.graph_from_dot_data(text)[0]


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 96, layer_range: Any = None,
               show_layer_activations: bool = False, show_trainable: bool = False) -> str:
    """Draw the model to ``to_file``; the extension picks the format (``.png``, ``.svg``,
    ``.pdf`` ... rendered by Graphviz's ``dot`` program; ``.dot`` is written as text and needs
    nothing). Returns the path. Without ``dot`` raises ``MissingDependencyError``.

    Example:
        >>> import os, tempfile, savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> p = plot_model(m, os.path.join(tempfile.mkdtemp(), "m.dot")); p.endswith(".dot")
        True
    """
    text = dot_source(model, show_shapes, show_dtype, show_layer_names, rankdir, dpi,
                      layer_range, show_layer_activations, show_trainable)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension == "dot":
        storage.write_bytes_atomically(to_file, text.encode())
        return to_file
    program = shutil.which("dot")
    if program is None:
        raise MissingDependencyError(f"{_HINT} Received: no `dot` program on PATH. Fix: install "
                                     f"graphviz, or save the graph as text with "
                                     f"to_file='model.dot'.")
    result = subprocess.run([program, f"-T{extension}"], input=text.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise ConfigError(f"Graphviz could not render format '{extension}' for {to_file}: "
                          f"{result.stderr.decode(errors='replace').strip()}. Fix: use an "
                          f"extension dot supports (png, svg, pdf) or '.dot'.")
    storage.write_bytes_atomically(to_file, result.stdout)
    return to_file


__all__ = ["plot_model", "model_to_dot", "dot_source"]
