"""TF Serving's REST JSON <-> named numpy arrays: parsing, the row (``instances``) and columnar
(``inputs``) predict formats and their answers (``classify``/``regress``: ``examples.py``).

Error messages follow TF Serving's ``json_tensor.cc`` wording (clients match on them); checks it
leaves to the TF runtime (shapes against the signature) say Expected/Received/Fix. A well-formed
numeric request takes a fast path (``np.array`` in C); anything else (booleans, strings, ragged
lists) goes through a strict walk that finds the first bad value the way TF Serving does.

Example:
    >>> from savepoint.serving.servable import TensorSpec
    >>> specs = [TensorSpec("x", "float32", (None, 2))]
    >>> arrays, fmt = decode_predict(parse_body(b'{"instances": [[1, 2], [3, 4]]}'), specs)
    >>> fmt, arrays["x"].tolist()
    ('row', [[1.0, 2.0], [3.0, 4.0]])
    >>> decode_predict(parse_body(b'{"instances": [[1, "a"]]}'), specs)
    Traceback (most recent call last):
    savepoint.serving.servable.ServingError: Failed to process element: 0 of 'instances' list.
    Error: INVALID_ARGUMENT: JSON Value: "a" Type: String is not of expected type: float
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from savepoint.serving.servable import ServingError, TensorSpec

try:  # the serve extra's fast JSON codec; the standard library does the same, slower
    import orjson
except ImportError:  # pragma: no cover - the serve extra installs it
    orjson = None

_TF_TYPE_NAMES = {"float32": "float", "float64": "double", "int32": "int32", "int64": "int64",
                  "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
                  "float16": "half", "bfloat16": "bfloat16"}


def _bad(message: str) -> ServingError:
    return ServingError(400, message)


def _debug(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 200 else text[:197] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return "Number"
    return {str: "String", list: "Array", dict: "Object"}.get(type(value), "Unknown")


def parse_body(body: bytes) -> dict:
    """The request's JSON object (``NaN``/``Infinity`` allowed, as in TF Serving)."""
    if not body:
        raise _bad("JSON Parse error: The document is empty")
    doc = _fast_loads(body)
    try:
        if doc is _FAILED:
            doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        msg, pos = getattr(e, "msg", str(e)), getattr(e, "pos", getattr(e, "start", 0))
        raise _bad(f"JSON Parse error: {msg} at offset: {pos}") from None
    except RecursionError:
        raise _bad("JSON Parse error: The document nests arrays or objects too deeply") from None
    if not isinstance(doc, dict):
        raise _bad(f"JSON Value: {_debug(doc)} Is not object")
    return doc


_FAILED = object()


def _fast_loads(body: bytes) -> Any:
    # orjson refuses NaN/Infinity (which TF Serving accepts) and words errors its own way:
    # on any failure the standard parser decides, and its message is the one reported
    if orjson is None:
        return _FAILED
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _FAILED


def to_json(payload: Any) -> bytes:
    """The answer's bytes; numpy arrays in ``payload`` are written as nested lists, float32 in
    its shortest form, NaN/Infinity as TF Serving writes them.

    Example:
        >>> to_json({"predictions": np.array([[0.1, np.nan]], np.float32)})
        b'{"predictions":[[0.1,NaN]]}'
    """
    if orjson is not None:
        out = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        if b"null" not in out:   # orjson writes non-finite floats as null; no answer has null
            return out
    return json.dumps(payload, separators=(",", ":"), default=_plain).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == np.float32:   # float32's shortest repr, as orjson writes it
            return [_plain(v) for v in value] if value.ndim > 1 else \
                [float(np.format_float_positional(v, unique=True, trim="-")) for v in value]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def signature_of(doc: dict, signatures: set, method: str = "predict") -> str:
    """The request's ``signature_name`` (default ``serving_default``), which must exist."""
    name = doc.get("signature_name", "serving_default")
    if not isinstance(name, str):
        raise _bad(f"JSON Value: {_debug(doc)} not formatted correctly. 'signature_name' key "
                   f"must be a string value.")
    name = name or "serving_default"
    if name not in signatures:
        if method == "predict":
            raise _bad(f'Serving signature name: "{name}" not found in signature def')
        raise _bad(f"No signature was found with the name: {name}")
    return name


# -- predict -----------------------------------------------------------------------------------

class _Bools:
    """Whether a request may hide booleans among numbers: ``np.array([True, 2.5])`` silently
    makes floats where TF Serving refuses a boolean. Only an array holding an exact 0 or 1 can
    hide one; then the raw body is searched (once) for a ``true``/``false`` token, and if one
    is there the strict walk decides. Without the body every request takes the strict walk."""

    def __init__(self, body: bytes | None):
        self._body, self._found = body, None

    def may_hide_in(self, array: np.ndarray) -> bool:
        if self._body is None:
            return True
        if not ((array == 0) | (array == 1)).any():
            return False
        if self._found is None:
            self._found = b"true" in self._body or b"false" in self._body
        return self._found


def decode_predict(doc: dict, specs: list[TensorSpec], body: bytes | None = None
                   ) -> tuple[dict[str, np.ndarray], str]:
    """Named input arrays of a predict request and its format (``"row"`` or ``"columnar"``);
    with the raw ``body``, clean numeric requests take the fast path (see ``_Bools``)."""
    strict = _Bools(body)
    has_rows, has_cols = "instances" in doc, "inputs" in doc
    if has_rows and has_cols:
        raise _bad(f"JSON Value: {_debug(doc)} Not formatted correctly expecting only one of "
                   f"'inputs' or 'instances' keys to exist ")
    if has_rows:
        arrays, fmt = _from_instances(doc, specs, strict), "row"
    elif has_cols:
        arrays, fmt = _from_inputs(doc["inputs"], specs, strict), "columnar"
    else:
        raise _bad("Missing 'inputs' or 'instances' key")
    check_inputs(arrays, specs)
    return arrays, fmt


def _from_instances(doc: dict, specs: list[TensorSpec], strict: _Bools) -> dict[str, np.ndarray]:
    rows = doc["instances"]
    if not isinstance(rows, list):
        raise _bad(f"JSON Value: {_debug(doc)} Expecting 'instances' to be an list/array")
    if not rows:
        raise _bad(f"JSON Value: {_debug(doc)} No values in 'instances' array")
    objects = _is_object(rows[0])
    if not objects and len(specs) > 1:
        raise _bad("instances is a plain list, but expecting list of objects as multiple "
                   "input tensors required as per tensorinfo_map")
    if not objects:
        for i, row in enumerate(rows):
            if _is_object(row):
                raise _bad(f"Expecting value/list but got object at item {i} of input list")
        return {specs[0].name: _stack(rows, specs[0], "'instances' list", True, strict)}
    names = sorted(s.name for s in specs)
    for i, row in enumerate(rows):
        if not _is_object(row):
            raise _bad(f"Expecting object but got list at item {i} of input list")
        if sorted(row) != names:
            unknown = sorted(set(row) - set(names))
            if unknown:
                raise _bad(f"Failed to process element: {i} key: {unknown[0]} of 'instances' "
                           f"list. Error: INVALID_ARGUMENT: JSON object: does not have named "
                           f"input: {unknown[0]}")
            raise _bad(f"Failed to process element: {i} of 'instances' list. JSON object: "
                       f"{_debug(row)} keys must be equal to: {','.join(names)}")
    return {s.name: _stack([row[s.name] for row in rows], s, "'instances' list", True, strict,
                           key=s.name) for s in specs}


def _from_inputs(value: Any, specs: list[TensorSpec], strict: _Bools) -> dict[str, np.ndarray]:
    if not _is_object(value):
        if len(specs) > 1:
            raise _bad("inputs is a plain value/list, but expecting an object as multiple "
                       "input tensors required as per tensorinfo_map")
        return {specs[0].name: _stack(value, specs[0], None, False, strict)}
    arrays = {}
    for s in specs:
        if s.name not in value:
            raise _bad(f"Missing named input: {s.name} in 'inputs' object.")
        arrays[s.name] = _stack(value[s.name], s, None, False, strict)
    extra = sorted(set(value) - {s.name for s in specs})
    if extra:
        sent, wanted = sorted(value), sorted(s.name for s in specs)
        raise _bad(f"input size does not match signature: {len(sent)}!={len(wanted)} "
                   f"len({{{','.join(sent)}}}) != len({{{','.join(wanted)}}}). Sent extra: "
                   f"{{{','.join(extra)}}}. Missing but required: {{}}.")
    return arrays


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and not (len(value) == 1 and isinstance(value.get("b64"), str))


def _stack(value: Any, spec: TensorSpec, where: str | None, by_row: bool, strict: _Bools,
           key: str | None = None) -> np.ndarray:
    """``value`` as an array of ``spec``'s dtype; on anything but a clean numeric nested list,
    the strict walk raises TF Serving's message for the first bad value."""
    want_int = spec.dtype.startswith(("int", "uint"))
    try:
        array = np.array(value)
        clean = array.dtype.kind in ("i", "u") or (array.dtype.kind == "f" and not want_int)
    except (ValueError, TypeError):  # ragged lists
        clean = False
    if clean and spec.dtype != "bool" and not strict.may_hide_in(array):
        return array.astype(_numpy_dtype(spec.dtype), copy=False)
    items = value if by_row else [value]
    first_shape: list | None = None
    for i, item in enumerate(items):
        shape = _dense_shape(item)
        try:
            _walk(item, 0, shape, spec.dtype)
            if first_shape is not None and _size(shape) != _size(first_shape):
                raise _bad(f"Expecting tensor size: {_size(first_shape)} but got: "
                           f"{_size(shape)}")
            if first_shape is not None and shape != first_shape:
                raise _bad(f"Expecting shape {_shape_text(first_shape)} but got: "
                           f"{_shape_text(shape)}")
        except ServingError as e:
            if where is None:
                raise
            at = f"{i} key: {key}" if key is not None else f"{i}"
            raise _bad(f"Failed to process element: {at} of {where}. Error: "
                       f"INVALID_ARGUMENT: {e}") from None
        first_shape = first_shape or shape
    try:
        return np.array(value, dtype=_numpy_dtype(spec.dtype))
    except (OverflowError, ValueError, TypeError) as e:
        raise _bad(f"Expected values that fit input '{spec.name}' of type "
                   f"{_TF_TYPE_NAMES.get(spec.dtype, spec.dtype)}. Received {e}. Fix: send "
                   f"values in the input's range.") from None


def _dense_shape(value: Any) -> list:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _walk(value: Any, level: int, shape: list, dtype: str) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise _bad(f"JSON Value: {_debug(value)} found at incorrect level: {level + 1} in "
                       f"the JSON DOM. Expected at level: {rank}")
        _check_value(value, dtype)
        return
    if level >= rank:
        raise _bad(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise _bad(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                   f"expected size: {shape[level]}")
    for v in value:
        _walk(v, level + 1, shape, dtype)


def _check_value(value: Any, dtype: str) -> None:
    if dtype == "bool":
        ok = isinstance(value, bool)
    elif dtype.startswith(("int", "uint")):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise _bad(f"JSON Value: {_debug(value)} Type: {_json_type(value)} is not of expected "
                   f"type: {_TF_TYPE_NAMES.get(dtype, dtype)}")


def _size(shape: list) -> int:
    return int(np.prod(shape)) if shape else 1


def _shape_text(shape: list) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _numpy_dtype(dtype: str) -> np.dtype:
    return np.dtype("float32") if dtype == "bfloat16" else np.dtype(dtype)


def check_inputs(arrays: dict[str, np.ndarray], specs: list[TensorSpec]) -> None:
    """Each array matches its spec's rank and fixed dimensions; all share the batch size."""
    for s in specs:
        got = arrays[s.name].shape
        ok = len(got) == len(s.shape) and all(e is None or e == d for e, d in zip(s.shape, got))
        if not ok:
            want = "[" + ",".join("-1" if d is None else str(d) for d in s.shape) + "]"
            row = "[" + ",".join("-1" if d is None else str(d) for d in s.shape[1:]) + "]"
            raise _bad(f"Expected input '{s.name}' of shape {want}. Received a tensor of shape "
                       f"{_shape_text(list(got))}. Fix: send each instance with shape {row} "
                       f"(row format) or a batch of them (columnar format).")
    rows = {s.name: arrays[s.name].shape[0] for s in specs}
    if len(set(rows.values())) > 1:
        raise _bad(f"Expected every input to have the same batch size. Received {rows}. Fix: "
                   f"send the same number of rows for each named input.")


def encode_predict(outputs: dict[str, np.ndarray], fmt: str) -> dict:
    """The predict answer: ``predictions`` (row) or ``outputs`` (columnar); named only when
    the model has several outputs."""
    names = sorted(outputs)
    arrays = {n: np.ascontiguousarray(outputs[n]) for n in names}
    if fmt == "columnar":
        if len(names) == 1:
            return {"outputs": arrays[names[0]]}
        return {"outputs": arrays}
    if len(names) == 1:
        return {"predictions": arrays[names[0]]}
    batch = len(arrays[names[0]])
    return {"predictions": [{n: arrays[n][i] for n in names} for i in range(batch)]}


__all__ = ["check_inputs", "decode_predict", "encode_predict", "parse_body", "signature_of",
           "to_json"]
