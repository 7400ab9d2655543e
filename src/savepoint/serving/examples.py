"""TF Serving's ``classify`` and ``regress`` requests for ``savepoint serve``: ``examples``
(each a JSON object of features, plus a shared ``context``) to named input arrays, and the
``results`` answers.

A feature is named after a model input and holds that input's row, flattened (a value or a flat
list). ``classify`` needs one ``[batch, classes]`` output and answers ``[label, score]`` pairs
with the class index as label; ``regress`` needs one value per example. Messages follow TF
Serving's ``json_tensor.cc`` where it has one.

Example:
    >>> from savepoint.serving.servable import TensorSpec
    >>> specs = [TensorSpec("x", "float32", (None, 2))]
    >>> doc = {"context": {"x": [1, 2]}, "examples": [{}, {"x": [3, 4]}]}
    >>> decode_examples(doc, specs, "regress")["x"].tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> encode_classify(np.array([[0.25, 0.75]], np.float32))
    {'results': [[['0', 0.25], ['1', 0.75]]]}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.serving.json_tensor import _bad, _debug, _json_type, _numpy_dtype, _size
from savepoint.serving.servable import TensorSpec


def decode_examples(doc: dict, specs: list[TensorSpec], method: str) -> dict[str, np.ndarray]:
    """The inputs of a classify/regress request: each example (merged with ``context``) maps
    every input name to a value or a flat list, reshaped to the input's row shape."""
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise _bad(f"Example must be JSON object but got JSON {_json_type(context)}")
    if "examples" not in doc:
        raise _bad(f"JSON Value: {_debug(doc)} When method is {method}, key 'examples' is "
                   f"expected and was not found")
    examples = doc["examples"]
    if not isinstance(examples, list):
        raise _bad(f"JSON Value: {_debug(doc)} Expecting 'examples' value to be an list/array")
    if not examples:
        raise _bad(f"JSON Value: {_debug(doc)} 'examples' value is an empty array")
    columns: dict[str, list] = {s.name: [] for s in specs}
    for example in examples:
        if not isinstance(example, dict):
            raise _bad(f"Example must be JSON object but got JSON {_json_type(example)}")
        features = {**context, **example}
        missing = sorted(set(columns) - set(features))
        if missing:
            raise _bad(f"Expected every example to have the feature(s) {sorted(columns)}. "
                       f"Received an example with {sorted(features)}. Fix: add {missing} "
                       f"(the model's input names) to each example or to 'context'.")
        for s in specs:
            columns[s.name].append(_feature(features[s.name], s.name))
    arrays = {}
    for s in specs:
        if any(d is None for d in s.shape[1:]):
            raise _bad(f"Expected fixed-size inputs for :{method}. Received input '{s.name}' "
                       f"of shape {list(s.shape)}. Fix: use :predict.")
        per_row = _size(list(s.shape[1:]))
        sizes = {len(v) for v in columns[s.name]}
        if sizes != {per_row}:
            raise _bad(f"Expected feature '{s.name}' to hold {per_row} value(s) per example "
                       f"(input shape {list(s.shape)}). Received {sorted(sizes)}. Fix: send "
                       f"the flattened input of each example.")
        arrays[s.name] = np.array(columns[s.name], dtype=_numpy_dtype(s.dtype)).reshape(
            (len(examples),) + tuple(s.shape[1:]))
    return arrays


def _feature(value: Any, name: str) -> list:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, (list, dict)) or v is None:
            raise _bad(f"Feature: {name} has element with unexpected JSON type: {_json_type(v)}")
        if isinstance(v, str):
            raise _bad(f"Unexpected element type in feature: {name} expecting type: float")
    return values


def encode_classify(scores: np.ndarray) -> dict:
    """``results``: per example, ``[label, score]`` pairs; labels are class indices."""
    labels = [str(k) for k in range(scores.shape[1])]
    return {"results": [[[labels[k], s] for k, s in enumerate(row)] for row in scores.tolist()]}


def encode_regress(values: np.ndarray) -> dict:
    """``results``: one value per example."""
    return {"results": np.ascontiguousarray(values.reshape(len(values)))}


__all__ = ["decode_examples", "encode_classify", "encode_regress"]
