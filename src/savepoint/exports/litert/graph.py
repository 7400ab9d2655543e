"""The TFLite graph under construction: values traced at two batch sizes, emitted operators,
late-bound constant inputs, and the final ``ModelDef`` (with optional int8 weights).

Every value is traced at batch 1 and batch 2 at once (``Value.shapes``), so a dimension that
differs between the two is the dynamic batch (``shape_signature`` -1) without any symbolic
shape algebra; the same holds for small int tensors computed from shapes (``Value.known``).
An operator's constant inputs (weights, biases) stay numpy arrays until ``finish``, so later
patterns can still fold into them (a BiasAdd into the bias, a batch norm into the weights), and
``dynamic_int8`` quantizes them there.

Example:
    >>> import numpy as np
    >>> g = Graph()
    >>> x = g.input("x", "float32", ((1, 3), (2, 3)))
    >>> y = g.emit("FULLY_CONNECTED", [x, np.ones((2, 3), np.float32), None],
    ...            [((1, 2), (2, 2))])[0]
    >>> y.signature, g.ops[0].op
    ((-1, 2), 'FULLY_CONNECTED')
    >>> model = g.finish({"x": x}, {"y": y}, quantize=None)
    >>> [t.name for t in model.tensors], model.opcodes
    (['x', 'y', 'fully_connected_weights'], ['FULLY_CONNECTED'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savepoint.exports.litert.schema import ModelDef, OpDef, Quantization, TensorDef

# weights with fewer elements stay float32 under dynamic_int8, as TFLite's converter does:
# quantizing them saves almost nothing and costs accuracy
MIN_QUANTIZED_ELEMENTS = 1024
# (op, input position) of the weights quantized per output channel -> that channel's axis
_QUANTIZED = {("FULLY_CONNECTED", 1): 0, ("CONV_2D", 1): 0, ("DEPTHWISE_CONV_2D", 1): 3}


@dataclass
class Value:
    """A traced value: a constant (``const``), or a runtime ``tensor`` (its index) with its
    shapes at batch 1 and 2, and ``known`` int contents at both batches when they are derived
    from shapes (Shape, StridedSlice of it...)."""

    dtype: str
    shapes: tuple[tuple, tuple]
    tensor: int | None = None
    const: np.ndarray | None = None
    known: tuple[np.ndarray, np.ndarray] | None = None
    producer: "Emitted | None" = None

    @property
    def signature(self) -> tuple:
        a, b = self.shapes
        return tuple(-1 if x != y else x for x, y in zip(a, b))


def constant(array: Any) -> Value:
    array = np.asarray(array)
    return Value(str(array.dtype), (array.shape, array.shape), const=array)


@dataclass
class Emitted:
    """An emitted operator: inputs are tensor indices, or numpy constants bound at ``finish``
    (``None``: an omitted optional input); ``consumers`` counts the uses of each output."""

    op: str
    inputs: list[Any]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""


class Graph:
    """Tensors and operators of one subgraph, built in execution order."""

    def __init__(self) -> None:
        self.tensors: list[TensorDef] = []
        self.ops: list[Emitted] = []
        self.buffers: list[bytes] = [b""]
        self._const_tensors: dict[tuple, tuple] = {}
        self._names: dict[str, int] = {}

    def _name(self, base: str) -> str:
        count = self._names.get(base, 0)
        self._names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def _tensor(self, name: str, dtype: str, shapes: tuple) -> int:
        value = Value(dtype, shapes)
        self.tensors.append(TensorDef(self._name(name), tuple(shapes[0]), value.signature, dtype))
        return len(self.tensors) - 1

    def input(self, name: str, dtype: str, shapes: tuple) -> Value:
        return Value(dtype, shapes, tensor=self._tensor(name, dtype, shapes))

    def const_tensor(self, array: np.ndarray, name: str = "const",
                     quantization: Quantization | None = None) -> int:
        """A tensor holding ``array`` (one per array object: a constant used twice is
        stored once)."""
        key = (id(array), quantization is not None)
        if key not in self._const_tensors:
            data = np.asarray(array)  # not ascontiguousarray: it makes a scalar 1-d
            data = data if data.flags.c_contiguous else data.copy()
            self.buffers.append(data.astype(data.dtype.newbyteorder("<")).tobytes())
            shape = tuple(data.shape)
            self.tensors.append(TensorDef(self._name(name), shape, shape, str(data.dtype),
                                          len(self.buffers) - 1, quantization))
            # the array is kept alive beside its index, so its id is never reused
            self._const_tensors[key] = (array, len(self.tensors) - 1)
        return self._const_tensors[key][1]

    def tensor_of(self, value: Value, name: str = "const") -> int:
        if value.tensor is None:
            value.tensor = self.const_tensor(value.const, name)
        return value.tensor

    def emit(self, op: str, inputs: list[Any], out_shapes: list[tuple],
             dtype: str = "float32", **options: Any) -> list[Value]:
        """Append ``op``; ``inputs`` are Values (constants become tensors now), numpy arrays
        (bound at ``finish``) or None. Returns one Value per output shape pair."""
        name = op.lower()
        bound = [x.const if isinstance(x, Value) and x.const is not None and x.tensor is None
                 and _late(op, i) else self.tensor_of(x, f"{name}_in") if isinstance(x, Value)
                 else x for i, x in enumerate(inputs)]
        outs = [self._tensor(name, dtype, s) for s in out_shapes]
        emitted = Emitted(op, bound, outs, dict(options), name)
        self.ops.append(emitted)
        return [Value(dtype, s, tensor=t, producer=emitted) for s, t in zip(out_shapes, outs)]

    def finish(self, inputs: dict[str, Value], outputs: dict[str, Value],
               quantize: str | None) -> ModelDef:
        """The ``ModelDef``: operators nothing reads are dropped (patterns leave some), late
        constants become tensors (int8 per channel for the weights ``_QUANTIZED`` names when
        ``quantize`` is ``"dynamic_int8"``; a conv's missing bias is zeros), and only the
        tensors still referenced are kept."""
        needed = {v.tensor for v in outputs.values()}
        kept = []
        for e in reversed(self.ops):
            if any(t in needed for t in e.outputs):
                kept.append(e)
                needed.update(x for x in e.inputs if isinstance(x, int))
        ops = []
        for e in reversed(kept):
            bound = []
            for i, x in enumerate(e.inputs):
                if x is None and i == 2 and e.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                    x = np.zeros(self.tensors[e.outputs[0]].shape[-1], np.float32)
                if isinstance(x, np.ndarray):
                    x = self._late_tensor(e, i, x, quantize)
                bound.append(-1 if x is None else x)
            ops.append(OpDef(e.op, bound, list(e.outputs), e.options))
        return self._compact(ops, inputs, outputs)

    def _late_tensor(self, e: Emitted, i: int, x: np.ndarray, quantize: str | None) -> int:
        dim = _QUANTIZED.get((e.op, i))
        if quantize == "dynamic_int8" and dim is not None and x.size >= MIN_QUANTIZED_ELEMENTS:
            q, scales = quantize_per_channel(x, dim)
            return self.const_tensor(q, f"{e.name}_weights", Quantization(scales, dim))
        return self.const_tensor(x, f"{e.name}_{_ROLE.get(i, 'const')}")

    def _compact(self, ops: list[OpDef], inputs: dict[str, Value],
                 outputs: dict[str, Value]) -> ModelDef:
        """Renumber the referenced tensors and their buffers densely."""
        used = sorted({v.tensor for v in (*inputs.values(), *outputs.values())} |
                      {t for op in ops for t in (*op.inputs, *op.outputs) if t >= 0})
        remap = {old: new for new, old in enumerate(used)}
        buffers, tensors = [b""], []
        for old in used:
            t = self.tensors[old]
            if t.buffer:
                buffers.append(self.buffers[t.buffer])
                t = TensorDef(t.name, t.shape, t.signature, t.dtype, len(buffers) - 1,
                              t.quantization)
            tensors.append(t)
        for op in ops:
            op.inputs = [remap[t] if t >= 0 else t for t in op.inputs]
            op.outputs = [remap[t] for t in op.outputs]
        opcodes = list(dict.fromkeys(op.op for op in ops))
        ins = {k: remap[v.tensor] for k, v in inputs.items()}
        outs = {k: remap[v.tensor] for k, v in outputs.items()}
        for key, index in outs.items():  # outputs carry their signature names
            if index not in ins.values():
                tensors[index].name = key
        return ModelDef(buffers, opcodes, tensors, ops, list(ins.values()), list(outs.values()),
                        (ins, outs))


_ROLE = {1: "weights", 2: "bias"}


def _late(op: str, index: int) -> bool:
    """Inputs kept as numpy until ``finish``: the weights and bias of the ops patterns fold
    into."""
    return op in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D") and index in (1, 2)


def quantize_per_channel(weights: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per slice along ``dim``: ``q = round(w / s)``, ``s = max|w| / 127``.

    Example:
        >>> q, s = quantize_per_channel(np.array([[1.0, -0.5], [0.0, 0.0]], np.float32), 0)
        >>> q.tolist(), [round(float(v), 5) for v in s]
        ([[127, -64], [0, 0]], [0.00787, 1.0])
    """
    moved = np.moveaxis(weights, dim, 0).reshape(weights.shape[dim], -1)
    peak = np.abs(moved).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shape = [1] * weights.ndim
    shape[dim] = -1
    q = np.clip(np.round(weights / scales.reshape(shape)), -127, 127).astype(np.int8)
    return q, scales


__all__ = ["Emitted", "Graph", "Value", "constant", "quantize_per_channel"]
