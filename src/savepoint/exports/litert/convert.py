"""Translating the lowered TensorFlow FunctionDef (exports/lowering) to a TFLite graph, op by op.

The walker visits the FunctionDef's nodes in order. ``Const`` and ``ReadVariableOp`` become
constants; an op whose inputs are all constant (or shape-derived ``known`` values) is folded in
numpy (``FOLD``), so a batch norm's ``rsqrt(var + eps) * gamma`` or a Conv1D's expanded kernel
reach the TFLite ops as plain weights; everything else goes to its translator in
``TRANSLATORS`` (``nn`` for the layers' ops, ``tensor_ops`` for the rest). An op with no
translator raises ``LoweringError`` naming the op and the layers that emit it.

Example:
    >>> import savepoint as keras
    >>> from savepoint.exports.lowering import lower_model
    >>> m = keras.Sequential([keras.layers.Dense(2, activation="relu", input_shape=(3,))])
    >>> model = convert(lower_model(m), quantize=None)
    >>> model.opcodes, [op.options for op in model.ops]
    (['FULLY_CONNECTED'], [{'fused_activation_function': 1, 'keep_num_dims': False}])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from savepoint.exports.litert.graph import Graph, Value, constant
from savepoint.exports.litert.schema import ModelDef
from savepoint.exports.lowering.builder import LoweringError
from savepoint.saving.formats.tf_checkpoint.dtypes import numpy_dtype

Translator = Callable[["Context", Any, list], list]
TRANSLATORS: dict[str, Translator] = {}
FOLD: dict[str, Callable[[Any, list], list]] = {}
BATCHES = (1, 2)  # the two batch sizes every value is traced at


def translates(*names: str) -> Callable[[Translator], Translator]:
    def register(fn: Translator) -> Translator:
        for name in names:
            TRANSLATORS[name] = fn
        return fn
    return register


def folds(*names: str) -> Callable:
    def register(fn: Callable) -> Callable:
        for name in names:
            FOLD[name] = fn
        return fn
    return register


def attr(node: Any, name: str, default: Any = None) -> Any:
    a = node.attrs.get(name)
    return default if a is None else a.value


def dtype_of(tf_enum: int) -> str:
    return numpy_dtype(tf_enum).name


def per_batch(fn: Callable, *values: Value) -> tuple:
    """``fn`` of the values' shapes, at each traced batch size."""
    return tuple(fn(*[v.shapes[w] for v in values]) for w in range(len(BATCHES)))


class Context:
    """What a translator sees: the graph, the use counts of the TF edges (to know when a
    pattern may fold into its producer) and the FunctionDef's nodes by name."""

    def __init__(self, graph: Graph, nodes: dict[str, Any], uses: dict[str, int],
                 values: dict[str, Value]):
        self.g, self.nodes, self.uses, self.values = graph, nodes, uses, values

    def emit(self, op: str, inputs: list, out_shapes: list, dtype: str = "float32",
             **options: Any) -> list[Value]:
        return self.g.emit(op, inputs, out_shapes, dtype, **options)

    def unary(self, op: str, x: Value, **options: Any) -> Value:
        return self.emit(op, [x], [x.shapes], x.dtype, **options)[0]

    def binary(self, op: str, a: Value, b: Value, dtype: str | None = None,
               **options: Any) -> Value:
        shapes = per_batch(lambda s, t: tuple(np.broadcast_shapes(s, t)), a, b)
        return self.emit(op, [a, b], [shapes], dtype or a.dtype, **options)[0]

    def scalar(self, value: float) -> Value:
        return constant(np.asarray(value, np.float32))

    def producer_if_only_use(self, edge: str, value: Value) -> Any:
        """The emitted op that computed ``value`` when ``edge`` is its one use (so the op
        may absorb what follows), else None."""
        if self.uses.get(_canonical(self.nodes, edge), 0) != 1 or value.producer is None:
            return None
        return value.producer if value.producer.outputs == [value.tensor] else None

    def producer_node(self, edge: str) -> Any:
        return self.nodes.get(_canonical(self.nodes, edge).split(":")[0])


def _canonical(nodes: dict[str, Any], edge: str) -> str:
    """``edge`` with Identity nodes looked through."""
    while True:
        node = nodes.get(edge.split(":")[0])
        if node is None or node.op != "Identity":
            return edge
        edge = node.inputs[0]


def const_value(node: Any) -> np.ndarray:
    tensor = attr(node, "value")
    if tensor.strings or tensor.dtype == 7:
        raise LoweringError(f"Node '{node.name}': expected numeric constants for TFLite. "
                            f"Received a string constant. Fix: serve a model without string "
                            f"preprocessing in the graph.")
    array = np.frombuffer(tensor.content, numpy_dtype(tensor.dtype))
    return array.reshape(tensor.shape) if array.size else np.zeros(tensor.shape,
                                                                    array.dtype)


def _fold(ctx: Context, node: Any, ins: list[Value]) -> list[Value] | None:
    """Constant or shape-derived results of ``node`` (None when it computes at runtime)."""
    if node.op == "Shape":
        known = tuple(np.asarray(s, dtype_of(attr(node, "out_type", 3))) for s in ins[0].shapes)
    elif node.op in FOLD and all(v.const is not None or v.known is not None for v in ins):
        known = None
    else:
        return None
    if node.op != "Shape":
        worlds = [FOLD[node.op](node, [v.const if v.const is not None else v.known[w]
                                       for v in ins]) for w in range(len(BATCHES))]
        if all(np.array_equal(a, b) and a.shape == b.shape for a, b in zip(*worlds)):
            return [constant(a) for a in worlds[0]]
        outs = TRANSLATORS[node.op](ctx, node, ins)
        for v, a, b in zip(outs, *worlds):
            v.known = (a, b)
        return outs
    if np.array_equal(*known):
        return [constant(known[0])]
    outs = TRANSLATORS["Shape"](ctx, node, ins)
    outs[0].known = known
    return outs


def _layers_emitting(model: Any, op: str) -> list[str]:
    """The layers whose lowering emits ``op`` (looked up only to word an error)."""
    from savepoint.exports.lowering import FunctionBuilder, LOWERINGS
    found, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        if hasattr(layer, "layers"):  # a nested model: look inside
            stack.extend(layer.layers)
            continue
        fn = LOWERINGS.get(type(layer).__name__)
        if fn is None or not hasattr(layer, "input"):
            continue
        b = FunctionBuilder("probe")
        try:
            shapes = [t.shape for t in (layer.input if isinstance(layer.input, list)
                                        else [layer.input])]
            b.node_dtypes = ["float32"] * len(shapes)
            fn(b, layer, [b.input(f"x{i}", 1) for i in range(len(shapes))], shapes,
               [layer.output.shape] if not isinstance(layer.output, list) else
               [t.shape for t in layer.output])
        except Exception:  # noqa: BLE001 (a probe: a layer it cannot lower emits nothing)
            continue
        if any(n.op == op for n in b.nodes):
            found.append(f"'{layer.name}' ({type(layer).__name__})")
    return found


def convert(lowered: Any, quantize: str | None, model: Any = None,
            shapes: dict[str, tuple] | None = None) -> ModelDef:
    """The TFLite ``ModelDef`` of a ``Lowered`` forward pass (see the module docstring);
    ``shapes`` (by input key) replace the inputs' shapes: a fixed batch or length."""
    from savepoint.exports.litert import nn, tensor_ops  # noqa: F401 (register translators)
    fn = lowered.function
    g = Graph()
    nodes = {n.name: n for n in fn.nodes}
    uses: dict[str, int] = {}
    for n in fn.nodes:
        for edge in n.inputs:
            key = _canonical(nodes, edge)
            uses[key] = uses.get(key, 0) + 1
    for edge in fn.ret.values():  # a signature output is a use too
        key = _canonical(nodes, edge)
        uses[key] = uses.get(key, 0) + 2
    values: dict[str, Value] = {}
    inputs = {}
    for (arg, _), spec in zip(fn.inputs, lowered.inputs):
        shape = (shapes or {}).get(spec.key, spec.shape)
        dims = tuple(shape[1:])
        if any(d is None for d in dims):
            raise LoweringError(f"Model input '{spec.key}': expected static dimensions after "
                                f"the batch for TFLite. Received shape {tuple(shape)}. Fix: "
                                f"give the Input a full shape, or fix it with input_signature "
                                f"(e.g. [(None, 20, 3)] for a sequence length of 20).")
        batches = BATCHES if shape[0] is None else (shape[0],) * len(BATCHES)
        values[arg] = inputs[spec.key] = g.input(
            spec.key, dtype_of(spec.dtype), tuple((b,) + dims for b in batches))
    for (arg, _), var in zip(fn.inputs[len(lowered.inputs):], lowered.variables):
        values[arg] = constant(np.asarray(var.numpy()))
    ctx = Context(g, nodes, uses, values)
    for node in fn.nodes:
        if node.op in ("Const", "ReadVariableOp", "Identity"):
            values[f"{node.name}:{_first_output(node.op)}:0"] = (
                constant(const_value(node)) if node.op == "Const" else values[node.inputs[0]])
            continue
        ins = [values[e] for e in node.inputs if not e.startswith("^")]
        translator = TRANSLATORS.get(node.op)
        if translator is None:
            layers = _layers_emitting(model, node.op) if model is not None else []
            raise LoweringError(
                f"Op {node.op} (node '{node.name}'"
                f"{', from layer ' + ', '.join(layers) if layers else ''}) has no TFLite "
                f"translation: expected one of {len(TRANSLATORS)} ops (exports/litert). Fix: "
                f"replace that layer, or export format='tf_saved_model' or 'onnx'.")
        outs = _fold(ctx, node, ins) or translator(ctx, node, ins)
        for i, v in enumerate(outs):
            values[f"{node.name}:{_first_output(node.op)}:{i}"] = v
    outputs = {spec.key: values[fn.ret[arg]] for (arg, _), spec in zip(fn.outputs,
                                                                        lowered.outputs)}
    for key, v in outputs.items():
        if v.tensor is None:  # an output that is a constant still needs an op computing it
            raise LoweringError(f"Model output '{key}': expected a value computed from the "
                                f"inputs. Received a constant. Fix: make the output depend "
                                f"on an input.")
    return g.finish(inputs, outputs, quantize)


def _first_output(op: str) -> str:
    from savepoint.exports.lowering.ops import OPS
    return OPS[op].outputs[0]


__all__ = ["Context", "FOLD", "TRANSLATORS", "attr", "convert", "folds", "per_batch",
           "translates"]
