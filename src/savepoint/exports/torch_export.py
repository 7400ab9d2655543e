"""``model.export(path, format="torch")``: the model's ``torch.export`` program as a directory
that loads without pickle and without the model's Python class.

``torch.export.save``'s ``.pt2`` archive is not used: torch 2.13 writes its example inputs
(``data/sample_inputs/model.pt``) with ``torch.save``, a pickle, and ``torch.export.load``
unpickles it. The directory holds instead::

    program.json          the ExportedProgram, torch's own JSON serializer (no weights, no
                          guard code, no stack traces), checked on load like the model
                          directory's inference program (aten/prims operators only)
    weights.safetensors   every parameter, buffer and constant tensor, by its program name
    export.json           format name/version, torch version, inputs (name, shape, dtype),
                          their structure, output names, and which tensor is which kind

``load(path)`` returns a plain ``torch.nn.Module`` (``ExportedProgram.module()``) called with
the flat inputs in ``export.json``'s order. Without savepoint, torch and safetensors rebuild
it the same way (``torch._export.serde.serialize.deserialize`` on a ``SerializedArtifact`` of
``program.json`` and the state/constants dicts read with ``safetensors.torch.load_file``).

Example:
    >>> import savepoint as keras, tempfile, os, torch
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = os.path.join(tempfile.mkdtemp(), "m_torch"); export(m, d)
    >>> sorted(os.listdir(d))
    ['export.json', 'program.json', 'weights.safetensors']
    >>> module = load(d); x = torch.ones(4, 3)
    >>> bool(torch.equal(module(x), m(x, training=False)))
    True
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError

FORMAT_NAME = "savepoint.torch_export"
FORMAT_VERSION = 1
PROGRAM = "program.json"
WEIGHTS = "weights.safetensors"
META = "export.json"


def export(model: Any, filepath: str, input_signature: Any = None) -> None:
    """Write ``model``'s inference program (``model(x, training=False)``, batch dynamic unless
    ``input_signature`` fixes it) to the directory ``filepath``."""
    from savepoint.exports.inference import _serialize
    from savepoint.exports.signature import resolve
    from savepoint.saving import storage
    from savepoint.saving.formats import safetensors
    specs, structure = resolve(model, input_signature, "torch")
    program = trace(model, specs, structure, "torch")
    exported = _serialize(program, {}, specs, structure)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "torch_version": torch.__version__.split("+")[0], "name": str(model.name),
            "inputs": specs,
            "structure": structure, "outputs": output_names(model),
            "tensors": {name: {"kind": e["kind"], "parameter": e["parameter"], "key": e["key"]}
                        for name, e in exported.tensors.items()}}
    temp = storage.temp_dir_for(filepath)
    try:
        storage.write_bytes_atomically(os.path.join(temp, PROGRAM), exported.program)
        safetensors.write(os.path.join(temp, WEIGHTS), exported.extra, {"format": "pt"})
        storage.replace_text_atomically(os.path.join(temp, META),
                                        json.dumps(meta, indent=1, sort_keys=True))
        storage.commit_directory(temp, filepath)
    except BaseException:
        storage.remove_tree(temp)
        raise


def trace(model: Any, specs: list[dict], structure: Any, format: str) -> Any:
    """``torch.export`` of ``model(x, training=False)`` for ``specs`` (each ``None`` dimension
    dynamic); ``ConfigError`` names why torch could not export it."""
    from savepoint.exports.inference import _Forward
    dims, example = [], []
    for i, spec in enumerate(specs):
        shape = [2 if d is None else d for d in spec["shape"]]
        example.append(torch.zeros(shape, dtype=getattr(torch, spec["dtype"])))
        dims.append({j: torch.export.Dim("batch" if j == 0 else f"dim_{i}_{j}")
                     for j, d in enumerate(spec["shape"]) if d is None} or None)
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():  # tracing noise is not the user's concern
            warnings.simplefilter("ignore")
            return torch.export.export(_Forward(model, structure), tuple(example),
                                       dynamic_shapes=(tuple(dims),))
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0][:400]
        raise ConfigError(
            f"model.export(format={format!r}): expected a model torch.export can trace "
            f"(model(x, training=False) with a dynamic batch). Received model '{model.name}', "
            f"on which torch.export failed: {type(e).__name__}: {first}. Fix: make the "
            f"failing layer's call traceable (no data-dependent Python control flow), or "
            f"pass an input_signature with a fixed batch size.") from None
    finally:
        model.train(was_training)


def output_names(model: Any) -> list[str]:
    """tf.keras's output keys: the output layers' names (``output_0``... without a graph)."""
    names = list(getattr(model, "output_names", None) or [])
    return names or ["output_0"]


# ----- loading ----------------------------------------------------------------------------------
def load(path: str) -> torch.nn.Module:
    """The exported program in directory ``path`` as a callable ``torch.nn.Module`` (flat inputs
    in ``export.json``'s order); ``FormatError`` for anything that is not such a directory."""
    meta = read_meta(path)
    from savepoint.exports.inference import load_program
    from savepoint.saving import storage
    from savepoint.saving.formats import safetensors
    arrays, _ = safetensors.read(os.path.join(path, WEIGHTS))
    state: dict[str, torch.Tensor] = {}
    constants: dict[str, torch.Tensor] = {}
    for name, entry in meta["tensors"].items():
        if entry["key"] not in arrays:
            _damaged(path, f"a tensor {entry['key']!r} in {WEIGHTS}", "none")
        tensor = torch.from_numpy(np.array(arrays[entry["key"]], copy=True))
        if entry["parameter"]:
            tensor = torch.nn.Parameter(tensor, requires_grad=False)
        (state if entry["kind"] == "state" else constants)[name] = tensor
    where = os.path.join(path, PROGRAM)
    program = storage.read_bytes(where)
    _check_tensors(program, {**state, **constants}, path)
    return load_program(program, state, constants, where)


def _check_tensors(program: bytes, tensors: dict[str, torch.Tensor], path: str) -> None:
    """Every weight has the shape and dtype the program declares for it (torch itself would
    only fail, or compute garbage, when the module runs). Unreadable programs are left to
    ``load_program``, which says why."""
    from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE
    try:
        graph = json.loads(program)["graph_module"]
        specs, values = graph["signature"]["input_specs"], graph["graph"]["tensor_values"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return
    for spec in specs if isinstance(specs, list) else []:
        for kind, field in (("parameter", "parameter_name"), ("buffer", "buffer_name"),
                            ("tensor_constant", "tensor_constant_name")):
            entry = spec.get(kind) if isinstance(spec, dict) else None
            if not isinstance(entry, dict) or entry.get(field) not in tensors:
                continue
            meta = values.get(entry.get("arg", {}).get("name"), {})
            shape = [d.get("as_int") for d in meta.get("sizes", [])]
            dtype = _SERIALIZE_TO_TORCH_DTYPE.get(meta.get("dtype"))
            tensor = tensors[entry[field]]
            if list(tensor.shape) != shape or tensor.dtype != dtype:
                _damaged(path, f"tensor {entry[field]!r} of shape {shape} and dtype "
                         f"{str(dtype).replace('torch.', '')} as {PROGRAM} declares it",
                         f"shape {list(tensor.shape)} and dtype "
                         f"{str(tensor.dtype).replace('torch.', '')} in {WEIGHTS}")


def load_inference_model(path: str) -> Any:
    """The directory as savepoint's ``InferenceModel`` (``predict`` on numpy, named inputs).

    Example:
        >>> import savepoint as keras, tempfile, os, numpy as np
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))], name="tiny")
        >>> d = os.path.join(tempfile.mkdtemp(), "t"); export(m, d)
        >>> load_inference_model(d)
        <InferenceModel 'tiny' inputs=[[None, 3]]>
    """
    from savepoint.exports.inference_model import InferenceModel
    meta = read_meta(path)
    return InferenceModel(load(path), meta["inputs"], meta["structure"], meta["name"])


def read_meta(path: str) -> dict:
    """``export.json`` of directory ``path``, checked field by field."""
    from savepoint.exports.inference import check_info
    from savepoint.saving import storage
    where = os.path.join(path, META)
    if not storage.exists(where):
        raise FormatError(f"Expected a model.export(format='torch') directory at {path!r} with "
                          f"{META}. Received no such file. Fix: pass the directory "
                          f"model.export(..., format='torch') wrote.")
    try:
        meta = json.loads(storage.read_bytes(where))
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"Expected JSON in {where!r}. Received unreadable bytes ({e}). Fix: "
                          f"export the model again.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        _damaged(path, f"'format' to be {FORMAT_NAME!r}",
                 repr(meta.get("format") if isinstance(meta, dict) else meta))
    version = meta.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        _damaged(path, f"'format_version' to be an integer from 1 to {FORMAT_VERSION}",
                 repr(version))
    check_info({"available": True, **{k: meta.get(k) for k in ("inputs", "structure")},
                "tensors": {n: {**e, "source": "variables"} if isinstance(e, dict) else e
                            for n, e in (meta.get("tensors") or {}).items()}
                if isinstance(meta.get("tensors"), dict) else meta.get("tensors")}, where)
    meta.setdefault("name", os.path.basename(os.path.normpath(path)))
    if not isinstance(meta["name"], str):
        _damaged(path, "'name' to be a string", repr(meta["name"]))
    return meta


def _damaged(path: str, expected: str, received: str) -> None:
    raise FormatError(f"The torch export {path!r} is damaged: expected {expected}. Received "
                      f"{received[:200]}. Fix: export the model again.")


__all__ = ["FORMAT_NAME", "export", "load", "load_inference_model", "read_meta", "trace"]
