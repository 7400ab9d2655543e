"""Building one FunctionDef body from typed ops: unique node names, output-arg edge names,
attrs typed by the op table, constants, and variables captured as resource inputs.

Example:
    >>> import numpy as np
    >>> b = FunctionBuilder("f")
    >>> x = b.input("x", DT_FLOAT)
    >>> y = b.op("Relu", [x], T=DT_FLOAT)
    >>> y, b.const(np.array([1, 2], np.int32))
    ('Relu:activations:0', 'Const:output:0')
    >>> fn = b.finish({"out": y}); fn.ret
    {'out': 'Identity_out:output:0'}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.errors import ConfigError
from savepoint.exports.lowering.ops import OPS
from savepoint.saving.formats.saved_model.encode import Attr, FunctionDef, NodeDef, Tensor
from savepoint.saving.formats.saved_model.schema import DT_FLOAT, DT_INT32, DT_RESOURCE
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for


class LoweringError(ConfigError):
    """A layer or op the lowering cannot express as TensorFlow raw ops."""


class FunctionBuilder:
    """Accumulates the body of FunctionDef ``name``.

    ``input`` declares a user input arg, ``variable`` a captured variable (one ``DT_RESOURCE``
    arg each, read once through ``ReadVariableOp``), ``op`` appends a node and returns the edge
    names of its outputs (one per output arg; ``count`` for an arg that is a list)."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[NodeDef] = []
        self.inputs: list[tuple[str, int]] = []
        self.captured: list[Any] = []            # the variables, in resource-arg order
        self.resource_args: list[tuple[str, int]] = []
        self.node_dtypes: list[str] = []         # dtypes of the inputs of the node being lowered
        self.node: Any = None                    # the graph node being lowered (its call args)
        self.masks: dict[int, Any] = {}          # tensor id -> the source of its Keras mask
        self.mask_edges: dict[int, tuple] = {}   # mask source -> (kept-steps edge, squeezed edge)
        self._reads: dict[int, str] = {}
        self._used: dict[str, int] = {}

    def _unique(self, base: str) -> str:
        count = self._used.get(base, 0)
        self._used[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def input(self, name: str, dtype: int) -> str:
        arg = self._unique(_arg_name(name))
        self.inputs.append((arg, dtype))
        return arg

    def op(self, op: str, inputs: list[str], name: str | None = None, **attrs: Any) -> str:
        """Append ``op`` and return the edge of its first output."""
        return self.op_outputs(op, inputs, name, **attrs)[0]

    def op_outputs(self, op: str, inputs: list[str], name: str | None = None,
                   **attrs: Any) -> list[str]:
        spec = OPS.get(op)
        if spec is None:
            raise LoweringError(f"Expected an op of the lowering table (exports/lowering/ops.py). "
                                f"Received {op!r}. Fix: add its OpDef entry to the table.")
        unknown = sorted(set(attrs) - set(spec.attrs))
        missing = sorted(spec.required - set(attrs))
        if unknown or missing:
            raise LoweringError(f"Op {op}: expected attrs {sorted(spec.attrs)} (required "
                                f"{sorted(spec.required)}). Received unknown {unknown}, missing "
                                f"{missing}. Fix: pass the attrs its OpDef declares.")
        node = self._unique(name or op)
        typed = {k: Attr(spec.attrs[k], v) for k, v in attrs.items()}
        self.nodes.append(NodeDef(node, op, list(inputs), typed))
        return [f"{node}:{arg}:0" for arg in spec.outputs]

    def const(self, value: np.ndarray, name: str = "Const") -> str:
        """A Const node holding ``value`` (little-endian bytes)."""
        array = np.asarray(value)  # not ascontiguousarray: it makes a scalar 1-d
        if not array.flags.c_contiguous:
            array = array.copy()
        dtype = tf_enum_for(array.dtype)
        tensor = Tensor(dtype, tuple(array.shape), array.astype(array.dtype.newbyteorder("<"),
                                                                copy=False).tobytes())
        return self.op("Const", [], name=name, value=tensor, dtype=dtype)

    def ints(self, values: list[int], name: str = "Const") -> str:
        """An int32 vector constant (shapes, axes, permutations)."""
        return self.const(np.asarray(values, dtype=np.int32), name)

    def scalar(self, value: float, dtype: int = DT_FLOAT, name: str = "Const") -> str:
        return self.const(np.asarray(value, dtype=np.float32 if dtype == DT_FLOAT else
                                     np.int32 if dtype == DT_INT32 else np.float64), name)

    def variable(self, var: Any) -> str:
        """The value of ``var`` (a savepoint Variable), read once from its resource arg."""
        key = id(var.value)
        if key not in self._reads:
            arg = self._unique(_arg_name(var.path.replace("/", "_")) + "_resource")
            self.resource_args.append((arg, DT_RESOURCE))
            self.captured.append(var)
            dtype = tf_enum_for(var.dtype)
            self._reads[key] = self.op("ReadVariableOp", [arg],
                                       name=_arg_name(var.path.replace("/", "_")) + "_read",
                                       dtype=dtype)
        return self._reads[key]

    def finish(self, outputs: dict[str, str], dtypes: dict[str, int] | None = None
               ) -> FunctionDef:
        """The FunctionDef: user inputs, then the resources; outputs in sorted key order (TF
        flattens the output dict by sorted key), each through an Identity."""
        ret, out_args = {}, []
        for key in sorted(outputs):
            arg = _arg_name(key)
            ret[arg] = self.op("Identity", [outputs[key]], name=f"Identity_{arg}",
                               T=(dtypes or {}).get(key, DT_FLOAT))
            out_args.append((arg, (dtypes or {}).get(key, DT_FLOAT)))
        args = self.inputs + self.resource_args
        return FunctionDef(self.name, args, out_args, self.nodes, ret, is_stateful=True)


def _arg_name(name: str) -> str:
    """A legal arg/node name: TF allows ``[a-z][a-z0-9_]*`` for args; keep it lower case."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name.lower())
    return cleaned if cleaned and cleaned[0].isalpha() else f"arg_{cleaned}"


__all__ = ["FunctionBuilder", "LoweringError"]
