"""The input signature an exporter traces: the model's inputs, or the user's ``input_signature``
checked against them.

``input_signature=None`` gives the model's inputs (batch dimension dynamic). Otherwise it is a
list with one entry per model input (a dict keyed by input name also works for a model with
named inputs): an object with ``.shape`` (and optionally ``.dtype``) such as a ``keras.InputSpec``
or ``tf.TensorSpec``, a ``(shape, dtype)`` pair, or a bare shape tuple. A dimension the model
fixes must stay as it is; a dimension ``None`` in the model may be fixed; the batch dimension
``None`` stays dynamic. The dtype must be the model's (a cast is not an export's business).

Example:
    >>> import savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> resolve(m, None)[0]
    [{'name': 'dense_input', 'shape': [None, 3], 'dtype': 'float32'}]
    >>> resolve(m, [((8, 3), "float32")])[0]
    [{'name': 'dense_input', 'shape': [8, 3], 'dtype': 'float32'}]
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError


def resolve(model: Any, input_signature: Any, format: str = "") -> tuple[list[dict], Any]:
    """``(specs, structure)`` as ``exports.inference.input_signature`` gives them, with the
    shapes of ``input_signature`` when one is given; ``ConfigError`` says what does not fit."""
    from savepoint.exports.inference import input_signature as model_signature
    specs, structure = model_signature(model)
    specs = [{"name": s["name"], "shape": list(s["shape"]), "dtype": _dtype_name(s["dtype"])}
             for s in specs]
    if input_signature is None:
        return specs, structure
    entries = _entries(input_signature, specs, format)
    return [_merge(spec, entry, format) for spec, entry in zip(specs, entries)], structure


def _entries(signature: Any, specs: list[dict], format: str) -> list:
    if isinstance(signature, dict):
        names = [s["name"] for s in specs]
        if sorted(signature) != sorted(names):
            _refuse(format, f"a dict keyed by the model's input names {names}",
                    sorted(signature), "key it by those names")
        return [signature[n] for n in names]
    if not isinstance(signature, (list, tuple)) or _is_shape(signature) and len(specs) == 1:
        signature = [signature]
    if len(signature) != len(specs):
        _refuse(format, f"{len(specs)} entr{'y' if len(specs) == 1 else 'ies'} (one per model "
                f"input {[s['name'] for s in specs]})", f"{len(signature)}",
                "give one shape per input")
    return list(signature)


def _is_shape(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int)
                                                    for d in value)


def _merge(spec: dict, entry: Any, format: str) -> dict:
    if hasattr(entry, "shape"):
        shape, dtype = entry.shape, getattr(entry, "dtype", None)
    elif isinstance(entry, (list, tuple)) and len(entry) == 2 and not _is_shape(entry):
        shape, dtype = entry
    else:
        shape, dtype = entry, None
    try:
        shape = [None if d is None else int(d) for d in shape]
    except (TypeError, ValueError):
        _refuse(format, f"a shape for input '{spec['name']}' (a tuple of ints or None)",
                repr(entry), "pass e.g. (None, 784) or ((None, 784), 'float32')")
    expected = spec["shape"]
    fits = len(shape) == len(expected) and all(
        e is None or d == e for d, e in zip(shape, expected)) and \
        all(d is None or d > 0 for d in shape)
    if not fits:
        _refuse(format, f"input '{spec['name']}' to have a shape compatible with the model's "
                f"{tuple(expected)} (only its None dimensions may be fixed)", repr(tuple(shape)),
                "match the model's input shape")
    if dtype is not None and _dtype_name(dtype) != spec["dtype"]:
        _refuse(format, f"input '{spec['name']}' to have the model's dtype {spec['dtype']!r}",
                repr(dtype), "leave the dtype out, or build the model with that dtype")
    return {"name": spec["name"], "shape": shape, "dtype": spec["dtype"]}


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype)).replace("torch.", "")


def _refuse(format: str, expected: str, received: str, fix: str) -> None:
    where = f"model.export(format={format!r})" if format else "model.export"
    raise ConfigError(f"{where}: expected input_signature to give {expected}. Received "
                      f"{received}. Fix: {fix}, or pass input_signature=None to use the "
                      f"model's inputs.")


__all__ = ["resolve"]
