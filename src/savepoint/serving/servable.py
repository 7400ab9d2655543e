"""One loaded model version for ``savepoint serve``: its named inputs and outputs, its forward
pass on named numpy arrays, and its ``serving_default`` signature as TF Serving prints it.

A version folder is opened with ``savepoint.models.load_model`` (a savepoint model directory,
which is also a TF SavedModel, or a tf.keras SavedModel) and run once on a one-row batch of
zeros: that dry run finds the output names and shapes and refuses a model that cannot predict
before any request reaches it.

Example:
    >>> import tempfile, os, numpy as np, savepoint as keras
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="d")])
    >>> path = os.path.join(tempfile.mkdtemp(), "1"); m.save(path)
    >>> s = load_servable("demo", 1, path)
    >>> [(t.name, t.shape) for t in s.inputs], [(t.name, t.shape) for t in s.outputs]
    ([('d_input', (None, 3))], [('d', (None, 2))])
    >>> out = s.run({"d_input": np.ones((4, 3), np.float32)})["d"]
    >>> bool(np.allclose(out, m.predict(np.ones((4, 3)), verbose=0)))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from savepoint.errors import SavepointError

SERVING_DEFAULT = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"

# numpy dtype name -> TF's DataType enum name (what the metadata prints)
TF_DTYPES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF",
             "bfloat16": "DT_BFLOAT16", "int32": "DT_INT32", "int64": "DT_INT64",
             "int16": "DT_INT16", "int8": "DT_INT8", "uint8": "DT_UINT8", "bool": "DT_BOOL"}


class ServingError(SavepointError):
    """A request the server answers with an error: ``status`` is the HTTP status code and the
    message is the body's ``"error"``, worded like TF Serving's where it has one.

    Example:
        >>> e = ServingError(404, "Servable not found for request: Latest(x)")
        >>> e.status, str(e)
        (404, 'Servable not found for request: Latest(x)')
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TensorSpec:
    """A named input or output: ``shape`` has ``None`` for the batch (and any free) dimension."""
    name: str
    dtype: str
    shape: tuple

    def tf_dtype(self) -> str:
        return TF_DTYPES.get(self.dtype, "DT_INVALID")


class Servable:
    """A model version ready to answer: ``run`` maps named input arrays to named outputs."""

    def __init__(self, name: str, version: int, path: str, model: Any, inputs: list,
                 structure: Any, outputs: list, output_structure: Any):
        self.name, self.version, self.path, self.model = name, version, path, model
        self.inputs: list[TensorSpec] = inputs
        self.outputs: list[TensorSpec] = outputs
        self._structure, self._output_structure = structure, output_structure

    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One forward pass (``training=False``, under ``torch.inference_mode``)."""
        flat = [torch.from_numpy(np.ascontiguousarray(arrays[s.name])) for s in self.inputs]
        y = _call(self.model, self._structure, flat)
        return {spec.name: _to_numpy(t) for spec, t in
                zip(self.outputs, _flatten(y, self._output_structure))}

    def signature_def(self) -> dict:
        """The ``signature_def`` map of TF Serving's metadata answer (protobuf JSON: int64 as
        strings), with tensor names as a TF SavedModel's serving signature has them."""
        def info(spec: TensorSpec, tensor_name: str) -> dict:
            dims = [{"size": str(-1 if d is None else d), "name": ""} for d in spec.shape]
            return {"dtype": spec.tf_dtype(), "tensor_shape": {"dim": dims, "unknown_rank": False},
                    "name": tensor_name}
        inputs = {s.name: info(s, f"serving_default_{s.name}:0") for s in self.inputs}
        outputs = {s.name: info(s, f"StatefulPartitionedCall:{i}")
                   for i, s in enumerate(sorted(self.outputs, key=lambda s: s.name))}
        return {SERVING_DEFAULT: {"inputs": inputs, "outputs": outputs,
                                  "method_name": PREDICT_METHOD, "defaults": {}}}


def _call(model: Any, structure: Any, flat: list) -> Any:
    if structure is None:
        x: Any = flat[0]
    elif "keys" in structure:
        x = dict(zip(structure["keys"], flat))
    else:
        x = flat
    with torch.inference_mode():
        return model(x, training=False)


def _to_numpy(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return torch.Tensor.numpy(torch.Tensor.detach(t).cpu())
    return np.asarray(t)


def _flatten(y: Any, structure: Any) -> list:
    if structure is None:
        return [y]
    if "keys" in structure:
        return [y[k] for k in structure["keys"]]
    return list(y)


def _input_specs(model: Any) -> tuple[list[TensorSpec], Any]:
    from savepoint.exports.inference import input_signature
    from savepoint.exports.inference_model import InferenceModel
    if isinstance(model, InferenceModel):  # a model directory whose class is missing
        raw, structure = model.input_spec, model._structure
    else:
        raw, structure = input_signature(model)
    specs = [TensorSpec(str(s["name"]), str(s["dtype"]).replace("torch.", ""),
                        tuple(None if d is None else int(d) for d in s["shape"])) for s in raw]
    return specs, structure


def _output_names(model: Any, count: int) -> list[str]:
    names = list(getattr(model, "output_names", None) or [])
    if len(names) == count and len(set(names)) == count:
        return [str(n) for n in names]
    return [f"output_{i}" for i in range(count)]


def load_servable(name: str, version: int, path: str) -> Servable:
    """Open the model at ``path`` and dry-run it; any failure raises (the poller retries)."""
    from savepoint.models import load_model
    model = load_model(path, compile=False)
    inputs, structure = _input_specs(model)
    zeros = {s.name: np.zeros([1] + [1 if d is None else d for d in s.shape[1:]],
                              dtype=_numpy_dtype(s.dtype)) for s in inputs}
    y = _call(model, structure, [torch.from_numpy(zeros[s.name]) for s in inputs])
    if isinstance(y, dict):
        out_structure: Any = {"keys": list(y)}
        names = list(y)
    elif isinstance(y, (list, tuple)):
        out_structure = {"list": len(y)}
        names = _output_names(model, len(y))
    else:
        out_structure, names = None, _output_names(model, 1)
    known = _declared_output_shapes(model, len(names))
    outputs = []
    for i, (n, t) in enumerate(zip(names, _flatten(y, out_structure))):
        shape = known[i] if known else (None,) + tuple(t.shape[1:])
        outputs.append(TensorSpec(n, str(t.dtype).replace("torch.", ""), shape))
    return Servable(name, version, path, model, inputs, structure, outputs, out_structure)


def _declared_output_shapes(model: Any, count: int) -> list[tuple] | None:
    try:
        tensors = list(getattr(model, "outputs", None) or [])
    except Exception:  # a subclassed model without a graph has no symbolic outputs
        return None
    if len(tensors) != count:
        return None
    return [tuple(None if d is None else int(d) for d in t.shape) for t in tensors]


def _numpy_dtype(dtype: str) -> np.dtype:
    return np.dtype("float32") if dtype == "bfloat16" else np.dtype(dtype)


__all__ = ["PREDICT_METHOD", "SERVING_DEFAULT", "Servable", "ServingError", "TensorSpec",
           "load_servable"]
