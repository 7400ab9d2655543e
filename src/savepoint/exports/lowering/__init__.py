"""Lowering a savepoint model's layer graph to one TensorFlow FunctionDef of raw ops.

The intermediate representation is the layer graph (``models.functional.Graph``: Sequential and
functional models alike, nested models inlined); each node goes through its class's lowering in
``layers`` (conv/pool/norm/embedding ones in ``spatial``), which emits ops from the static table
in ``ops`` through a ``FunctionBuilder``. The result is what a SavedModel's serving signature
needs: the FunctionDef (user inputs in sorted key order, then one resource per variable), the
signature's input and output specs keyed like tf.keras's (input layer names; output layer
names), and the captured variables in resource order.

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, activation="relu", input_shape=(3,))])
    >>> low = lower_model(m)
    >>> [s.key for s in low.inputs], [s.key for s in low.outputs], len(low.variables)
    (['dense_input'], ['dense'], 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


from savepoint.exports.lowering import spatial  # noqa: F401 (registers its lowerings)
from savepoint.exports.lowering import recurrent  # noqa: F401 (registers its lowerings)
from savepoint.exports.lowering import spatial_more  # noqa: F401 (registers its lowerings)
from savepoint.exports.lowering import preprocessing  # noqa: F401 (registers its lowerings)
from savepoint.exports.lowering import attention, misc, tf_ops  # noqa: F401 (register theirs)
from savepoint.exports.lowering.builder import FunctionBuilder, LoweringError
from savepoint.exports.lowering.layers import LOWERINGS
from savepoint.saving.formats.saved_model.encode import FunctionDef
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for

# ends in a uid, like tf.keras's names: TF's fingerprinting (fingerprint.pb) needs one
FUNCTION_NAME = "__inference_signature_wrapper_serving_default_1"


@dataclass
class Spec:
    """A signature input or output: its key, TF dtype and shape (batch ``None``)."""

    key: str
    dtype: int
    shape: tuple


@dataclass
class Lowered:
    function: FunctionDef
    inputs: list[Spec]      # in the function's argument order (sorted keys)
    outputs: list[Spec]     # in the function's output order (sorted keys)
    variables: list[Any]    # the captured variables, in resource-argument order


def _graph_of(model: Any) -> Any:
    from savepoint.models.functional import Graph
    graph = getattr(model, "_graph", None)
    if graph is not None:
        return graph
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise LoweringError(f"Model '{model.name}': expected a Sequential or functional model "
                            f"with known inputs. Received a subclassed (or unbuilt) model, whose "
                            f"forward pass is Python code. Fix: build it as a functional model "
                            f"to get a serving signature.")
    return Graph(inputs[0] if len(inputs) == 1 else list(inputs),
                 outputs[0] if len(outputs) == 1 else list(outputs))


def _lower_graph(b: FunctionBuilder, graph: Any, memo: dict[int, str]) -> None:
    for node in graph.nodes:
        if not node.input_tensors:
            continue  # an InputLayer: its tensor is already a function input
        layer = node.layer
        xs = [memo[id(t)] for t in node.input_tensors]
        if hasattr(layer, "_graph") or hasattr(layer, "_stack"):  # a nested model: inline it
            inner = _graph_of(layer)
            for t, edge in zip(inner.flat_inputs, xs):
                memo[id(t)] = edge
            _lower_graph(b, inner, memo)
            outs = [memo[id(t)] for t in inner.flat_outputs]
        else:
            lowering = LOWERINGS.get(type(layer).__name__)
            dtypes = {str(layer.dtype), str(getattr(layer, "compute_dtype", layer.dtype))}
            # the lowerings emit float32 ops (T = DT_FLOAT), but those marked ``any_dtype``
            # check their own (Discretization's int64 ids)
            if dtypes != {"float32"} and not getattr(lowering, "any_dtype", False):
                raise LoweringError(
                    f"Layer '{layer.name}' ({type(layer).__name__}) cannot be lowered to "
                    f"TensorFlow ops: expected float32 variables and computation. Received "
                    f"{sorted(dtypes)}. Fix: serve a float32 copy of the model.")
            if lowering is None:
                raise LoweringError(
                    f"Layer '{layer.name}' ({type(layer).__name__}) has no TensorFlow lowering: "
                    f"expected one of {len(LOWERINGS)} built-in layers "
                    f"(exports/lowering/layers.py). Fix: use built-in layers for the served "
                    f"part of the model; tf.keras still loads it from its config.")
            b.node_dtypes = [t.dtype for t in node.input_tensors]
            b.node = node  # its call's arguments: MultiHeadAttention's key, a TF op's constants
            outs = lowering(b, layer, xs, [t.shape for t in node.input_tensors],
                            [t.shape for t in node.output_tensors])
        for t, edge in zip(node.output_tensors, outs):
            memo[id(t)] = edge


def lower_model(model: Any, name: str = FUNCTION_NAME) -> Lowered:
    """The serving FunctionDef of ``model`` (see the module docstring); ``LoweringError`` names
    the first layer that cannot be expressed."""
    graph = _graph_of(model)
    b = FunctionBuilder(name)
    b.masks = misc.trace_masks(graph)  # which tensors carry a Keras mask, and from where
    memo: dict[int, str] = {}
    inputs = {}
    for t, key in zip(graph.flat_inputs, graph.input_names):
        if t.dtype not in ("float32", "int32", "int64"):  # strings, bfloat16, float64...
            raise LoweringError(f"Model '{model.name}': expected float32 (or int32/int64 ids) "
                                f"inputs. Received input '{key}' of dtype {t.dtype}. Fix: "
                                f"give the Input dtype float32 to get a serving signature.")
        inputs[key] = (t, Spec(key, tf_enum_for(t.dtype), tuple(t.shape)))
    for key in sorted(inputs):  # TF flattens the keyword inputs by sorted key
        t, spec = inputs[key]
        memo[id(t)] = b.input(key, spec.dtype)
    _lower_graph(b, graph, memo)
    outputs, dtypes = {}, {}
    specs = []
    for t, key in zip(graph.flat_outputs, graph.output_names):
        if key in outputs:
            raise LoweringError(f"Model '{model.name}': expected distinct output names. "
                                f"Received {graph.output_names}. Fix: give each output layer "
                                f"its own name.")
        outputs[key], dtypes[key] = memo[id(t)], tf_enum_for(t.dtype)
        specs.append(Spec(key, dtypes[key], tuple(t.shape)))
    function = b.finish(outputs, dtypes)
    return Lowered(function, [inputs[k][1] for k in sorted(inputs)],
                   sorted(specs, key=lambda s: s.key), b.captured)


__all__ = ["Lowered", "LoweringError", "Spec", "lower_model"]
