"""The model directory's ``inference/`` program: a ``torch.export`` graph that predicts without the
model's Python class, stored as JSON (no pickle) with its weights in tensor bundles.

Saving exports ``model(x, training=False)`` with a dynamic batch dimension and serializes the
graph with torch's JSON serializer (``torch._export.serde``), leaving weights out: each weight is
named by its key in ``variables/`` (or, for tensors that are no model variable, in
``inference/tensors``). Loading validates the JSON before torch sees it -- every op must be an
``aten``/``prims`` operator or a plain arithmetic helper, every symbolic-shape expression a simple
arithmetic formula, no guard code, custom objects or sub-graphs -- then hands torch the graph and
tensor dicts we read ourselves, so torch never unpickles anything (``torch.load`` is only reached
for ``bytes`` payloads, and we never pass any).

Example:
    >>> import savepoint as keras, numpy as np
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> exported = export_model(m, {}); exported.error is None
    True
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError

PROGRAM_FILE = "inference/program.json"
TENSORS_PREFIX = "inference/tensors"

# op names may start with one "_" (aten._to_copy); no segment may be a dunder (__call__,
# __setattr__...), and overloads never start with "_"
_OP = re.compile(r"^torch\.ops\.(aten|prims)\.(?!__)\w+\.(?!_)\w+$")
_PY_OPS = {f"_operator.{n}" for n in ("getitem", "add", "sub", "mul", "floordiv", "truediv",
                                      "mod", "neg", "pow", "eq", "ne", "lt", "le", "gt", "ge",
                                      "and_", "or_", "not_")} | {
    f"math.{n}" for n in ("ceil", "floor", "trunc", "sqrt")}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOTTED = re.compile(r"^[A-Za-z0-9_.]*$")
_EXPR_TOKEN = re.compile(r"'[A-Za-z]\d+'|[A-Za-z_]\w*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\*\*|//|==|!=|"
                         r"<=|>=|[()+\-*/%,=<> ]|.")
_EXPR_NAMES = {"Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Mod", "Max",
               "Min", "Abs", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "True",
               "False", "oo", "positive", "integer", "nonnegative", "real", "FloorDiv",
               "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt", "FloorToInt",
               "CeilDiv", "LShift", "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv",
               "IntTrueDiv", "TruncToFloat", "IsNonOverlappingAndDenseIndicator"}
_REFUSED_KEYS = {"as_custom_obj", "as_custom_objs", "as_graph", "as_graphs"}


@dataclass
class Exported:
    """What ``export_model`` produced: the JSON program and where each of its tensors lives,
    or ``error`` saying why the model could not be exported."""

    program: bytes = b""
    tensors: dict[str, dict] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)
    structure: Any = None
    error: str | None = None


class _Forward(torch.nn.Module):
    """``forward(*flat_inputs) -> model(structured_inputs, training=False)``."""

    def __init__(self, model: Any, structure: Any):
        super().__init__()
        self.model, self.structure = model, structure

    def forward(self, *flat: torch.Tensor) -> Any:
        return self.model(_unflatten(self.structure, list(flat)), training=False)


def _unflatten(structure: Any, flat: list) -> Any:
    if structure is None:
        return flat[0]
    if "keys" in structure:
        return {k: flat[i] for i, k in enumerate(structure["keys"])}
    return list(flat)


def input_signature(model: Any) -> tuple[list[dict], Any]:
    """The model's inputs as ``[{"name", "shape", "dtype"}]`` and their structure (``None``
    for one tensor, ``{"list": n}`` or ``{"keys": [...]}``)."""
    graph = getattr(model, "_graph", None)
    if getattr(model, "inputs", None):
        raw = graph.inputs if graph is not None else model.inputs
        if isinstance(raw, (list, tuple)) and len(raw) == 1:
            raw = raw[0]
        if isinstance(raw, dict):
            items = list(raw.items())
        else:
            items = [(_tensor_name(t, i), t) for i, t in
                     enumerate(raw if isinstance(raw, (list, tuple)) else [raw])]
        spec = [{"name": str(n), "shape": list(t.shape), "dtype": str(t.dtype)} for n, t in items]
        structure = {"keys": [n for n, _ in items]} if isinstance(raw, dict) else \
            ({"list": len(items)} if isinstance(raw, (list, tuple)) else None)
        return spec, structure
    shape = getattr(model, "_build_input_shape", None)
    if shape is None:
        raise ConfigError("Expected a built model with a known input shape to export.")
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [{"name": f"input_{i}", "shape": list(s), "dtype": model.dtype}
                for i, s in enumerate(shape)], {"list": len(shape)}
    return [{"name": "input_1", "shape": list(shape), "dtype": model.dtype}], None


def _tensor_name(t: Any, i: int) -> str:
    history = getattr(t, "_history", None)
    return history[0].name if history else f"input_{i + 1}"


def export_model(model: Any, variable_keys: dict[int, str]) -> Exported:
    """Export ``model`` for inference; ``variable_keys`` maps ``id(tensor)`` to its key in
    ``variables/``. Never raises for an unexportable model: the result's ``error`` says why."""
    was_training = model.training
    try:
        inputs, structure = input_signature(model)
        example = tuple(_zeros(spec, 2) for spec in inputs)
        batch = torch.export.Dim("batch")
        model.eval()
        with warnings.catch_warnings():  # tracing noise is not the user's concern
            warnings.simplefilter("ignore")
            program = torch.export.export(_Forward(model, structure), example,
                                          dynamic_shapes=(tuple({0: batch} for _ in example),))
        return _serialize(program, variable_keys, inputs, structure)
    except Exception as e:  # export fails for many legitimate models: record why, save the rest
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return Exported(error=f"{type(e).__name__}: {first}"[:500])
    finally:
        model.train(was_training)


def _zeros(spec: dict, batch: int) -> torch.Tensor:
    shape = tuple(batch if d is None else d for d in spec["shape"])
    return torch.zeros(shape, dtype=getattr(torch, spec["dtype"]))


def _serialize(program: Any, variable_keys: dict[int, str], inputs: list[dict],
               structure: Any) -> Exported:
    from torch._export.serde import serialize as serde
    for name, value in program.constants.items():
        if not isinstance(value, torch.Tensor):
            raise ConfigError(f"The exported graph holds a non-tensor constant {name!r}.")
    serialized = serde.ExportedProgramSerializer().serialize(
        program, serialize_state_dict=False, serialize_constants=False,
        serialize_example_inputs=False)
    doc = json.loads(serde._to_json_bytes(serialized.exported_program))
    _strip(doc)
    out = Exported(program=json.dumps(doc, sort_keys=True).encode("utf-8"), inputs=inputs,
                   structure=structure)
    parameters = set(program.graph_signature.parameters)
    for kind, table in (("state", program.state_dict), ("constant", program.constants)):
        for name, tensor in table.items():
            key = variable_keys.get(id(tensor))
            entry = {"kind": kind, "parameter": name in parameters}
            if key is None:
                key = f"{kind}/{name}"
                out.extra[key] = tensor.detach().cpu().numpy()
                entry["source"] = TENSORS_PREFIX
            else:
                entry["source"] = "variables"
            out.tensors[name] = {**entry, "key": key}
    return out


def _strip(doc: dict) -> None:
    """Drop node metadata (stack traces with local paths) and guard code (Python source)."""
    doc["guards_code"] = []
    for node in doc["graph_module"]["graph"]["nodes"]:
        node["metadata"] = {}


# ----- loading ------------------------------------------------------------------------------
def check_program(doc: Any, where: str) -> None:
    """Refuse a program JSON that could make torch run anything but tensor operators."""
    if not isinstance(doc, dict) or "graph_module" not in doc:
        raise FormatError(f"Expected a torch.export JSON program in {where!r}. Received "
                          f"{type(doc).__name__} without 'graph_module'. Fix: re-save the model.")
    if doc.get("guards_code"):
        raise FormatError(f"The inference program {where!r} carries guard code (Python source), "
                          f"which savepoint never runs. Fix: re-save the model with savepoint.")
    _walk(doc, where)


def _walk(value: Any, where: str) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, where)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "metadata":
            continue
        if key in _REFUSED_KEYS:
            _refuse(where, f"a {key!r} entry")
        if key in ("target", "as_operator") and isinstance(item, str):
            if not (_OP.match(item) or item in _PY_OPS):
                _refuse(where, f"a call of {item!r}")
        elif key == "expr_str" and isinstance(item, str):
            _check_expr(item, where)
        elif key in ("name", "as_name") and isinstance(item, str) and not _IDENT.match(item):
            _refuse(where, f"the name {item!r}")
        elif key in ("fqn", "parameter_name", "buffer_name", "target_name") and \
                isinstance(item, str) and not _DOTTED.match(item):
            _refuse(where, f"the name {item!r}")
        _walk(item, where)


def _check_expr(expr: str, where: str) -> None:
    if "__" in expr:
        _refuse(where, f"the shape expression {expr!r}")
    for token in _EXPR_TOKEN.findall(expr):
        ok = (token in _EXPR_NAMES or re.fullmatch(r"'?[a-z]\d+'?", token) or
              re.fullmatch(r"\d+(\.\d+)?(e[+-]?\d+)?", token) or
              token in {"**", "//", "==", "!=", "<=", ">=", "(", ")", "+", "-", "*", "/", "%",
                        ",", "=", "<", ">", " "})
        if not ok:
            _refuse(where, f"the shape expression {expr!r} (token {token!r})")


def _refuse(where: str, what: str) -> None:
    raise FormatError(
        f"The inference program {where!r} contains {what}, which savepoint does not run: a "
        f"program savepoint saved only calls aten/prims tensor operators. Fix: re-save the model "
        f"with savepoint, or load it with its Python class available.")


def check_info(info: Any, where: str) -> dict:
    """The ``inference`` section of ``saved_model.json`` (at ``where``), checked field by field
    before anything uses it: ``FormatError`` names the first bad field.

    Example:
        >>> check_info({"available": False, "reason": "no export"}, "m/saved_model.json")
        {'available': False, 'reason': 'no export'}
    """
    if not isinstance(info, dict):
        _bad_info(where, "the section", "an object", info)
    if not info.get("available"):
        return info
    inputs = info.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(map(_is_input_spec, inputs)):
        _bad_info(where, "'inputs'", 'a non-empty list of {"name": str, "shape": [int or null], '
                  f'"dtype": one of {sorted(_DTYPES)}}}', inputs)
    structure = info.get("structure")
    if not (structure is None and len(inputs) == 1 or structure == {"list": len(inputs)} or
            isinstance(structure, dict) and list(structure) == ["keys"] and
            isinstance(structure["keys"], list) and len(structure["keys"]) == len(inputs) and
            all(isinstance(k, str) for k in structure["keys"])):
        _bad_info(where, "'structure'", 'null (one input), {"list": n} or {"keys": [names]} '
                  "matching 'inputs'", structure)
    tensors = info.get("tensors")
    if not isinstance(tensors, dict) or not all(
            isinstance(name, str) and _is_tensor_entry(entry) for name, entry in tensors.items()):
        _bad_info(where, "'tensors'", 'a map of names to {"source": "variables" or '
                  f'"{TENSORS_PREFIX}", "key": str, "kind": "state" or "constant", '
                  '"parameter": bool}', tensors)
    return info


_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "bool", "complex64", "complex128"}


def _is_input_spec(spec: Any) -> bool:
    return (isinstance(spec, dict) and isinstance(spec.get("name"), str) and
            spec.get("dtype") in _DTYPES and isinstance(spec.get("shape"), list) and
            all(d is None or type(d) is int and d >= 0 for d in spec["shape"]))


def _is_tensor_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and entry.get("source") in ("variables", TENSORS_PREFIX) and
            isinstance(entry.get("key"), str) and entry.get("kind") in ("state", "constant") and
            isinstance(entry.get("parameter", False), bool))


def _bad_info(where: str, field: str, expected: str, received: Any) -> None:
    shown = repr(received)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    raise FormatError(f"The 'inference' section of {where!r} is damaged: expected {field} to be "
                      f"{expected}. Received {shown}. Fix: re-save the model (or load it with its "
                      f"Python class available, which does not use the inference program).")


def load_program(program: bytes, state: dict[str, torch.Tensor],
                 constants: dict[str, torch.Tensor], where: str) -> Callable:
    """The exported module for a validated ``program``, its state dict and constants."""
    from torch._export.serde import serialize as serde
    try:
        doc = json.loads(program)
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"Expected JSON in {where!r}. Received unreadable bytes ({e}). Fix: "
                          f"re-save the model.") from None
    check_program(doc, where)
    artifact = serde.SerializedArtifact(json.dumps(doc).encode("utf-8"), state, constants,
                                        None)
    try:
        return serde.deserialize(artifact).module()
    except Exception as e:
        raise FormatError(f"torch could not rebuild the inference program {where!r}: "
                          f"{type(e).__name__}: {e}. Fix: load it with the torch version that "
                          f"saved it, or with the model's Python class available.") from None
