"""The functional graph: the layer calls recorded from ``Input`` tensors, ordered and replayed."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.symbolic import KerasTensor, flatten, map_structure


class Graph:
    """The nodes between ``inputs`` and ``outputs`` in execution order.

    Example:
        >>> from savepoint.layers import Dense, Input
        >>> x = Input((4,)); g = Graph(x, Dense(2)(x))
        >>> [type(l).__name__ for l in g.layers]
        ['InputLayer', 'Dense']
    """

    def __init__(self, inputs: Any, outputs: Any):
        # tf.keras: a one-tensor list is that tensor (Model(x, [y]) returns a tensor, not [y])
        if isinstance(inputs, list) and len(flatten(inputs)) == 1:
            inputs = inputs[0]
        if isinstance(outputs, list) and len(flatten(outputs)) == 1:
            outputs = outputs[0]
        self.inputs, self.outputs = inputs, outputs
        self.flat_inputs: list[KerasTensor] = flatten(inputs)
        self.flat_outputs: list[KerasTensor] = flatten(outputs)
        for t in self.flat_inputs + self.flat_outputs:
            if not isinstance(t, KerasTensor):
                raise ConfigError(
                    f"Expected Model inputs and outputs to be symbolic tensors from "
                    f"savepoint.Input(...) and layer calls. Received: {t!r}.")
        self._first_visit: dict[int, int] = {}
        self.nodes = self._order_nodes()
        self.layers = self._order_layers()
        self.input_names = [t._history[0].name for t in self.flat_inputs]
        self.output_names = [t._history[0].name for t in self.flat_outputs]
        self._release_after = self._last_uses()

    def _order_nodes(self) -> list:
        ordered, visiting, done = [], set(), set()
        input_ids = {id(t) for t in self.flat_inputs}

        def visit(tensor: KerasTensor) -> None:
            layer, node_index, _ = tensor._history
            node = layer._inbound_nodes[node_index]
            if id(node) in done:
                return
            if id(node) in visiting:
                raise ConfigError("The layer graph has a cycle; a functional model must be acyclic.")
            visiting.add(id(node))
            self._first_visit.setdefault(id(layer), len(self._first_visit))
            if id(tensor) not in input_ids:
                if not node.input_tensors and type(layer).__name__ == "InputLayer":
                    raise ConfigError(
                        f"Graph disconnected: output depends on input '{layer.name}' which is "
                        f"not among the model's inputs {[t.name for t in self.flat_inputs]}. "
                        f"Pass every Input the outputs need to Model(inputs=...).")
                for parent in node.input_tensors:
                    visit(parent)
            done.add(id(node))
            ordered.append(node)

        for t in self.flat_outputs:
            visit(t)
        return ordered

    def _order_layers(self) -> list:
        """tf.keras's ``model.layers`` order (it fixes the ``layer-N``/``layer_with_weights-N``
        checkpoint names): deepest first (distance from the outputs), ties in depth-first
        pre-order from the outputs; inputs the outputs do not use come last."""
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        layers: dict[int, Any] = {}
        input_ids = {id(t) for t in self.flat_inputs}
        for node in reversed(self.nodes):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)], node_depth[id(node)] = depth, depth
            layers.setdefault(id(node.layer), node.layer)
            if any(id(t) in input_ids for t in node.output_tensors):
                continue
            for parent in node.input_tensors:
                layer, index, _ = parent._history
                key = id(layer._inbound_nodes[index])
                node_depth[key] = max(depth + 1, node_depth.get(key, 0))
        for t in self.flat_inputs:
            layer = t._history[0]
            if id(layer) not in layers:
                layers[id(layer)], layer_depth[id(layer)] = layer, 0
                self._first_visit[id(layer)] = -1
        self.node_depth = node_depth  # tf.keras's depth of each node (0 at the outputs)
        return sorted(layers.values(),
                      key=lambda l: (-layer_depth[id(l)], self._first_visit[id(l)]))

    def _last_uses(self) -> list[list[int]]:
        """For each node, the intermediate tensors no later node reads. ``run`` drops them at
        once: keeping every activation alive until the end makes each layer write to fresh,
        unfaulted memory (ResNet50 inference ran its element-wise ops ~2x slower)."""
        last: dict[int, int] = {}
        for index, node in enumerate(self.nodes):
            for t in flatten([node.args, node.kwargs]):
                if isinstance(t, KerasTensor):
                    last[id(t)] = index
        keep = {id(t) for t in self.flat_outputs}
        release: list[list[int]] = [[] for _ in self.nodes]
        for tensor_id, index in last.items():
            if tensor_id not in keep:
                release[index].append(tensor_id)
        return release

    def run(self, values: Any, training: bool) -> Any:
        """Evaluate the graph on concrete tensors."""
        memo: dict[int, torch.Tensor] = {}
        for kt, value in zip(self.flat_inputs, self._match_inputs(values)):
            check_input_shape(value, kt.shape, kt._history[0].name)
            memo[id(kt)] = conform_dtype(value, kt._history[0])
        def lookup(t):
            return memo[id(t)] if isinstance(t, KerasTensor) else t
        for node, release in zip(self.nodes, self._release_after):
            if not node.input_tensors:
                continue
            args = map_structure(lookup, node.args)
            kwargs = map_structure(lookup, node.kwargs)
            # An explicit ``layer(x, training=False)`` in the graph wins (Keras's fine-tuning
            # recipe: a frozen base keeps its BatchNormalization in inference mode).
            if kwargs.get("training") is None:
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, v in zip(node.output_tensors, flatten(out)):
                memo[id(kt)] = v
            for tensor_id in release:
                memo.pop(tensor_id, None)
        return map_structure(lookup, self.outputs)

    def _match_inputs(self, values: Any) -> list:
        if isinstance(values, dict):
            missing = [n for n in self.input_names if n not in values]
            if missing:
                raise ConfigError(f"Missing input(s) {missing}. Expected a dict with keys "
                                  f"{self.input_names}. Received keys {sorted(values)}.")
            return [values[n] for n in self.input_names]
        flat = flatten(values) if isinstance(values, (list, tuple)) else [values]
        if len(flat) != len(self.flat_inputs):
            raise ConfigError(f"The model expects {len(self.flat_inputs)} input(s) "
                              f"({self.input_names}), but it received {len(flat)} input(s).")
        return flat


def conform_dtype(value: Any, input_layer: Any) -> Any:
    """``value`` cast to the dtype of ``input_layer`` (tf.keras's functional models cast each
    input to its ``Input``'s dtype: an ``int32`` Input hands ``Embedding`` ints, a float one
    float32). The layer's torch dtype follows ``model.to(torch.float64)``; text stays numpy.

    Example:
        >>> from savepoint.layers import Input
        >>> conform_dtype(torch.ones(2, 3), Input((3,), dtype="int32")._history[0]).dtype
        torch.int32
    """
    if isinstance(value, torch.Tensor) and input_layer.dtype != "string" and \
            value.dtype != input_layer._torch_dtype:
        return value.to(input_layer._torch_dtype)
    return value


def check_input_shape(value: Any, expected: tuple, name: str) -> None:
    """Keras's input compatibility check: rank and every known non-batch dimension. A shape
    with no known dimension (``Embedding``'s own ``(None, None)``) only warns about the rank,
    as tf.keras does, and the layers run on the data as it is."""
    if not isinstance(value, torch.Tensor) or expected is None:
        return
    shape = value.shape
    if len(shape) != len(expected) and len(expected) > 1 and \
            all(e is None for e in expected[1:]):
        warnings.warn(f"Model was constructed with shape {tuple(expected)} for input "
                      f"\"{name}\", but it was called on an input with incompatible shape "
                      f"{tuple(shape)}.", stacklevel=3)
        return
    if len(shape) != len(expected) or any(
            e is not None and e != s for e, s in zip(expected[1:], shape[1:])):
        raise ShapeError(
            f"Input \"{name}\" is incompatible with the model: expected shape="
            f"{tuple(expected)}, found shape={tuple(shape)}. Reshape the data, or rebuild the "
            f"model with the input shape of your data.")
