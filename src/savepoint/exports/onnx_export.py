"""``model.export(path, format="onnx")``: an ONNX model written by torch's own exporter.

The inference forward pass (``model(x, training=False)``) is traced with ``torch.export`` (a
dynamic batch dimension unless ``input_signature`` fixes it), then ``torch.onnx.export``
(the dynamo exporter, which needs the ``onnx`` and ``onnxscript`` packages: the ``export``
extra) turns the program into ONNX. Inputs are named like tf.keras's signature keys (the Input
layers' names), outputs like its output keys (the output layers' names), and the dynamic batch
dimension is called ``batch``. Nothing is pickled: the file is the ONNX protobuf, weights inline.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> export(m, path)
    >>> import onnxruntime as ort
    >>> [(i.name, i.shape) for i in ort.InferenceSession(path).get_inputs()]
    [('dense_input', ['batch', 3])]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from typing import Any, Iterator

from savepoint.errors import ConfigError

BATCH = "batch"


def export(model: Any, filepath: str, input_signature: Any = None, *,
           opset_version: int | None = None) -> None:
    """Write ``model``'s inference graph to the ONNX file ``filepath`` (``opset_version``:
    torch's default when ``None``)."""
    from savepoint.exports.signature import resolve
    from savepoint.exports.torch_export import output_names, trace
    torch_onnx = _torch_onnx()
    if opset_version is not None and (type(opset_version) is not int or opset_version < 18):
        raise ConfigError(f"model.export(format='onnx'): expected opset_version to be an int "
                          f">= 18 (torch's dynamo exporter) or None. Received {opset_version!r}. "
                          f"Fix: pass e.g. opset_version=18, or leave it out.")
    specs, structure = resolve(model, input_signature, "onnx")
    program = trace(model, specs, structure, "onnx")
    outputs = output_names(model)
    try:
        with _quiet():
            onnx_program = torch_onnx.export(
                program, (), input_names=[s["name"] for s in specs], output_names=outputs,
                opset_version=opset_version, dynamo=True, verbose=False)
    except Exception as e:
        raise ConfigError(
            f"model.export(format='onnx'): expected a model torch.onnx.export can convert. "
            f"Received model '{model.name}', on which it failed: {_cause(e)}. "
            f"Fix: export it with format='torch' or 'tf_saved_model', or replace the layer "
            f"whose operator ONNX lacks.") from None
    _name_dynamic_dims(onnx_program.model)
    _write(onnx_program, filepath)


def _cause(error: Exception) -> str:
    """The line of torch's long report that says what failed (e.g. the operator without an
    ONNX function), without its terminal colours."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    if "## Exception summary" in text:
        text = text.split("## Exception summary", 1)[1].strip()
        text = re.sub(r"^<class '(?:[\w.]+\.)?(\w+)'>", r"\1", text)
    else:
        text = f"{type(error).__name__}: {text}"
    return (text.splitlines() or [""])[0][:400]


def _torch_onnx() -> Any:
    try:
        import onnx  # noqa: F401 (torch's exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"model.export(format='onnx') needs the onnx and onnxscript packages. "
                          f"Received ImportError: {e}. Fix: pip install 'savepoint[export]'."
                          ) from None
    import torch.onnx
    return torch.onnx


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter logs missing torchvision operators and deprecations: not the user's concern."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _name_dynamic_dims(model: Any) -> None:
    """torch names the batch symbol ``s<N>``; call the first dimension ``batch`` everywhere the
    same symbol stands (inputs and outputs)."""
    names: dict[str, str] = {}
    for value in model.graph.inputs:
        dims = list(value.shape or [])
        if dims and not isinstance(dims[0], int) and str(dims[0]) not in names:
            names[str(dims[0])] = BATCH
    if not names:
        return
    import onnx_ir as ir
    for value in list(model.graph.inputs) + list(model.graph.outputs):
        if value.shape is None:
            continue
        dims = [ir.SymbolicDim(names.get(str(d), str(d))) if not isinstance(d, int) else d
                for d in value.shape]
        value.shape = ir.Shape(dims)


def _write(onnx_program: Any, filepath: str) -> None:
    """Serialize in memory, then one atomic write through storage (local or remote)."""
    from savepoint.saving import storage
    import onnx_ir as ir
    parent = os.path.dirname(os.path.abspath(filepath)) if "://" not in filepath else None
    if parent:
        storage.makedirs(parent)
    proto = ir.serde.serialize_model(onnx_program.model)
    storage.write_bytes_atomically(filepath, proto.SerializeToString())


__all__ = ["export"]
