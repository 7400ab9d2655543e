"""``Model``: functional (``Model(inputs, outputs)``) and subclassed models, with training."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from savepoint import backend
from savepoint.errors import ConfigError, NotBuiltError
from savepoint.layers.base import Layer, _dedup, _takes_strings
from savepoint.layers.symbolic import flatten, map_structure
from savepoint.models import summary as summary_lib
from savepoint.models.functional import Graph
from savepoint.serialization import builtin
from savepoint.trainer.trainer import Trainer

# tf.keras's stateless checkpoint children once a step function exists.
_FUNCTION_CHILDREN = {"train": ("train_tf_function", "train_function"),
                      "test": ("test_function",), "predict": ("predict_function",)}


@builtin("layers", "Functional")
class Model(Trainer, Layer):
    """A trainable model: ``Model(inputs, outputs)`` or a subclass defining ``call``.

    Example:
        >>> import savepoint as keras
        >>> x = keras.Input((4,)); y = keras.layers.Dense(2)(x)
        >>> keras.Model(x, y).predict(np.ones((3, 4)), verbose=0).shape
        (3, 2)
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 **kwargs: Any):
        Layer.__init__(self, name=name, **kwargs)
        Trainer.__init__(self)
        self._graph: Graph | None = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ConfigError("Model expected both `inputs` and `outputs` for a functional "
                                  "model. Received only one of them.")
            self._graph = Graph(inputs, outputs)
            self._graph_layers = torch.nn.ModuleList(self._graph.layers)
            self.built = True

    # ----- structure -----------------------------------------------------------------------
    @property
    def inputs(self) -> list:
        return list(self._graph.flat_inputs) if self._graph else None

    @property
    def outputs(self) -> list:
        return list(self._graph.flat_outputs) if self._graph else None

    @property
    def input(self) -> Any:
        """The model's symbolic input(s) (a functional or Sequential model), as in Keras."""
        return _single(self._network_attr("inputs", "input"))

    @property
    def output(self) -> Any:
        """The model's symbolic output(s) (a functional or Sequential model), as in Keras."""
        return _single(self._network_attr("outputs", "output"))

    @property
    def input_shape(self) -> Any:
        """``input.shape`` (a list of shapes for several inputs)."""
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        """``output.shape`` (a list of shapes for several outputs)."""
        return map_structure(lambda t: t.shape, self.output)

    def _network_attr(self, attr: str, what: str) -> list:
        found = getattr(self, attr)
        if not found:
            raise NotBuiltError(
                f"Model '{self.name}' has no symbolic {what}: `{what}` exists for functional "
                f"models and for Sequential models that know their input shape (give the first "
                f"layer an input_shape, or call build()). A subclassed model has none in Keras "
                f"either; use the tensors your own call() receives and returns.")
        return found

    @property
    def input_names(self) -> list[str]:
        return self._graph.input_names if self._graph else []

    @property
    def output_names(self) -> list[str]:
        return self._graph.output_names if self._graph else []

    @property
    def layers(self) -> list[Layer]:
        if self._graph is not None:
            return list(self._graph.layers)
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or position, as in Keras."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ConfigError(f"Was asked to retrieve layer at index {index} but model only "
                                  f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"No such layer: {name}. Existing layers are: "
                          f"{[l.name for l in self.layers]}.")

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        own = [v for v in self._own_variables() if v.trainable]
        return _dedup([w for l in self.layers for w in l.trainable_weights] + own)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        own = [v for v in self._own_variables() if not v.trainable]
        return _dedup([w for l in self.layers for w in l.non_trainable_weights] + own)

    @property
    def weights(self):
        return _dedup([w for l in self.layers for w in l.weights] + self._own_variables())

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def set_weights(self, weights: list) -> None:
        """Assign numpy arrays in ``model.weights`` order; all shapes checked first."""
        Layer.set_weights(self, weights)

    # ----- calling and building ------------------------------------------------------------
    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if self._graph is None:
            raise NotImplementedError(
                f"Model '{self.name}' has no call(): subclass Model and define call(inputs), or "
                f"build a functional model with Model(inputs, outputs).")
        return self._graph.run(inputs, bool(training))

    def _convert_inputs(self, inputs: Any) -> Any:
        """Arrays become tensors; only floats are cast to the model's dtype, as tf.keras's
        autocast does: ints stay ints, so an ``Input(dtype="int32")`` (cast to in
        ``Graph.run``/``Sequential.call``) or a subclassed model's Embedding receives ids."""
        def convert(x):
            if isinstance(x, np.ndarray) and x.dtype.kind in "OUS" and _takes_strings(self):
                return x  # a model with a string Input: its text layers read numpy strings
            if isinstance(x, (np.ndarray, list, float, int)) and not isinstance(x, bool):
                x = backend.to_tensor(x, device=self._device(),
                                      what=f"the input of layer '{self.name}'")
            if isinstance(x, torch.Tensor) and x.is_floating_point() and \
                    x.dtype != self._torch_dtype and not self.inputs:
                return x.to(self._torch_dtype)
            return x
        return map_structure(convert, inputs)

    def build(self, input_shape: Any) -> None:
        """Create the weights by running the model once on zeros of ``input_shape``."""
        if self._graph is not None or self.built:
            self.built = True
            return
        def zeros(shape):
            return torch.zeros(tuple(1 if d is None else d for d in shape),
                               dtype=self._torch_dtype, device=self._device())
        shapes = input_shape
        dummy = map_structure(zeros, shapes) if isinstance(shapes, (list, dict)) and not \
            all(isinstance(d, (int, type(None))) for d in shapes) else zeros(tuple(shapes))
        self.built = True
        with torch.no_grad():
            self(dummy, training=False)
        self._build_input_shape = input_shape

    def _build_from(self, inputs: Any) -> None:
        self.built = True
        self._build_input_shape = map_structure(lambda t: (None,) + tuple(t.shape[1:]), inputs)

    def count_params(self) -> int:
        if not self.built:
            raise NotBuiltError(
                f"Model '{self.name}' is not built yet: its weights are created on the first "
                f"call. Call the model on a batch of data, call build(input_shape), or give the "
                f"first layer an input_shape.")
        return Layer.count_params(self)

    def summary(self, line_length: int | None = None, positions: list | None = None,
                print_fn: Callable | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the Keras table of layers, output shapes and parameter counts (and, for a
        graph that branches, the "Connected to" column)."""
        unsupported = {k: v for k, v in (("expand_nested", expand_nested),
                                         ("show_trainable", show_trainable),
                                         ("layer_range", layer_range)) if v}
        if unsupported:
            raise ConfigError(f"summary() expected expand_nested=False, show_trainable=False and "
                              f"layer_range=None. Received {unsupported}: these views are not "
                              f"implemented. Fix: drop the argument(s).")
        if not self.built:
            raise NotBuiltError(
                f"This model has not yet been built. Build the model first by calling build() "
                f"or by calling the model on a batch of data (model '{self.name}').")
        summary_lib.print_summary(self, line_length=line_length, positions=positions,
                                  print_fn=print_fn)

    # ----- saving -----------------------------------------------------------------------------
    def save_weights(self, filepath: str, overwrite: bool = True, save_format: str | None = None,
                     options: Any = None, save_async: bool = False) -> None:
        """Save the weights: a TensorFlow checkpoint prefix (``cp.ckpt``), ``.h5`` (Keras 2) or
        ``.weights.h5`` (Keras 3). Checkpoints include the optimizer state, as tf.keras's do.
        ``save_async=True`` (or ``options=CheckpointOptions(enable_async=True)``) returns once
        the state is copied to host memory and writes the checkpoint in the background.

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> m.save_weights(os.path.join(tempfile.mkdtemp(), "cp.ckpt"))
        """
        from savepoint.saving.api import weights_api
        from savepoint.saving.api.configs import resolve_options
        weights_api.save_weights(self, filepath, overwrite=overwrite, save_format=save_format,
                                 options=resolve_options(options, save_async))

    def save(self, filepath: str, overwrite: bool = True, include_optimizer: bool = True,
             save_format: str | None = None, signatures: Any = None, options: Any = None,
             save_traces: bool = True) -> None:
        """Save the whole model: a directory (no extension), ``.h5`` (Keras 2) or ``.keras``
        (Keras 3). ``load_model`` gives back the architecture, weights, compile settings and
        optimizer state. ``options=CheckpointOptions(enable_async=True)`` writes in the
        background; ``save_traces`` has no effect (no TF traces exist here).

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> m.save(os.path.join(tempfile.mkdtemp(), "my_model"))
        """
        from savepoint.saving.api import model_api
        model_api.save_model(self, filepath, overwrite=overwrite,
                             include_optimizer=include_optimizer, save_format=save_format,
                             signatures=signatures, options=options)

    def export(self, filepath: str, format: str = "tf_saved_model", verbose: Any = None,
               input_signature: Any = None, **kwargs: Any) -> None:
        """Export the inference forward pass for another runtime, with Keras 3's format names:
        ``"tf_saved_model"`` (TF Serving), ``"litert"`` (a ``.tflite`` file), ``"tfjs"``
        (TF.js Layers), ``"onnx"`` and ``"torch"`` (a ``torch.export`` program). Format options
        (``quantize=`` for litert...) go in ``kwargs``; see ``savepoint.exports.api``.

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> m.export(os.path.join(tempfile.mkdtemp(), "serving"), format="tf_saved_model")
        """
        from savepoint.exports.api import export
        export(self, filepath, format=format, input_signature=input_signature, verbose=verbose,
               **kwargs)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, by_name: bool = False,
                     options: Any = None) -> Any:
        """Load weights saved by ``save_weights`` (or by tf.keras / Keras 3). Every value is
        validated before any is assigned; a checkpoint returns a status object.

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> path = os.path.join(tempfile.mkdtemp(), "cp.ckpt"); m.save_weights(path)
            >>> m.load_weights(path).assert_consumed() is not None
            True
        """
        from savepoint.saving.api import weights_api
        return weights_api.load_weights(self, filepath, skip_mismatch=skip_mismatch,
                                        by_name=by_name)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as tf.keras 2's JSON (``models.model_from_json`` reads it back;
        so does tf.keras). ``kwargs`` go to ``json.dumps``.

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> keras.models.model_from_json(m.to_json()).count_params()
            8
        """
        import json
        from savepoint.saving.api.configs import to_keras2_config
        return json.dumps(to_keras2_config(self), **kwargs)

    def reset_states(self) -> None:
        """Reset the state of every stateful layer (Keras 2: layers with ``stateful=True``)."""
        for layer in self._flat_layers():
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    # ----- checkpoint structure --------------------------------------------------------------
    def _is_network(self) -> bool:
        """Functional and Sequential models name their layers by position, as tf.keras does."""
        return self._graph is not None

    def _trackable_children(self) -> list[tuple[str, Any]]:
        """tf.keras's checkpoint children: ``layer_with_weights-N``/``layer-N`` for networks,
        attribute names for subclassed models, then ``optimizer``."""
        if self._is_network():
            children: list[tuple[str, Any]] = []
            weighted = 0
            for i, layer in enumerate(self.layers):
                if layer.weights:
                    children.append((f"layer_with_weights-{weighted}", layer))
                    weighted += 1
                children.append((f"layer-{i}", layer))
        else:
            children = Layer._trackable_children(self)
        if getattr(self, "optimizer", None) is not None:
            children.append(("optimizer", self.optimizer))
        for kind, node in self.__dict__.get("_function_nodes", {}).items():
            children += [(name, node) for name in _FUNCTION_CHILDREN[kind]]
        return children

    def _track_function(self, kind: str) -> None:
        """Record that fit/evaluate/predict ran (``kind`` "train"/"test"/"predict"): tf.keras
        then tracks its ``tf.function`` as a stateless child, in order of first use."""
        from savepoint.trackable import Placeholder
        self.__dict__.setdefault("_function_nodes", {}).setdefault(kind, Placeholder())

    # ----- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        if self._graph is None:
            return {"name": self.name, "trainable": self.trainable}
        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Model":
        if "layers" in config and "input_layers" in config:
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)


def _single(tensors: list) -> Any:
    return tensors[0] if len(tensors) == 1 else list(tensors)


def functional_config(model: Model) -> dict:
    """Keras's functional config: layers with their inbound nodes, input and output layers."""
    from savepoint.serialization import serialize
    graph = model._graph
    layers = []
    for layer in graph.layers:
        entry = serialize(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [_node_config(n) for n in layer._inbound_nodes
                                  if n.input_tensors and _node_in_graph(n, graph)]
        layers.append(entry)
    def ref(t):
        layer, node_index, tensor_index = t._history
        return [layer.name, _graph_node_index(layer, node_index, graph), tensor_index]
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": map_structure(ref, graph.inputs if isinstance(graph.inputs, list)
                                          else [graph.inputs]),
            "output_layers": map_structure(ref, graph.outputs if isinstance(graph.outputs, list)
                                           else [graph.outputs])}


def _node_in_graph(node, graph) -> bool:
    return any(n is node for n in graph.nodes)


def _graph_node_index(layer, node_index, graph) -> int:
    node = layer._inbound_nodes[node_index]
    kept = [n for n in layer._inbound_nodes if not n.input_tensors or _node_in_graph(n, graph)]
    return next(i for i, n in enumerate(kept) if n is node)


def _node_config(node) -> dict:
    def ref(t):
        if hasattr(t, "_history"):
            layer, node_index, tensor_index = t._history
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype,
                               "keras_history": [layer.name, node_index, tensor_index]}}
        return t
    # An explicit ``training=True/False`` is part of the graph (tf.keras records it too).
    kwargs = {k: map_structure(ref, v) for k, v in node.kwargs.items()
              if k != "training" or isinstance(v, bool)}
    return {"args": map_structure(ref, list(node.args)), "kwargs": kwargs}


def functional_from_config(cls, config: dict, custom_objects: dict | None) -> Model:
    """Rebuild a functional model by re-calling each layer on its recorded inputs."""
    from savepoint.serialization import deserialize
    created: dict[str, Layer] = {}
    for entry in config["layers"]:
        layer_config = {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}
        created[entry["name"]] = deserialize(layer_config, "layers", custom_objects)
    pending = list(config["layers"])
    progress = True
    while pending and progress:
        progress = False
        for entry in list(pending):
            layer = created[entry["name"]]
            calls = entry.get("inbound_nodes", [])
            def resolve(v):
                if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
                    name, ni, ti = v["config"]["keras_history"]
                    src = created[name]
                    if ni >= len(src._inbound_nodes):
                        raise LookupError
                    return flatten(src._inbound_nodes[ni].outputs)[ti]
                if isinstance(v, (list, tuple)):
                    return type(v)(resolve(x) for x in v)
                if isinstance(v, dict):
                    return {k: resolve(x) for k, x in v.items()}
                return v
            # One call at a time: a shared layer's later call may consume tensors that its
            # earlier call feeds (block(x) ... block(f(block(x)))), as Keras rebuilds them.
            for call in calls[len(layer._inbound_nodes) - (1 if _is_input(layer) else 0):]:
                try:
                    args, kwargs = resolve(call["args"]), resolve(call["kwargs"])
                except LookupError:
                    break
                layer(*args, **kwargs)
                progress = True
            else:
                pending.remove(entry)
                progress = True
    if pending:
        raise ConfigError(f"Could not rebuild layers {[e['name'] for e in pending]}: their "
                          f"inputs never became available. The config is inconsistent.")
    def tensor(ref):
        name, ni, ti = ref
        return flatten(created[name]._inbound_nodes[ni].outputs)[ti]
    inputs = [tensor(r) for r in config["input_layers"]]
    outputs = [tensor(r) for r in config["output_layers"]]
    return cls(inputs=inputs if len(inputs) > 1 else inputs[0],
               outputs=outputs if len(outputs) > 1 else outputs[0], name=config.get("name"))


def _is_input(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


__all__ = ["Model"]
