"""``model.export(path, format="litert")``: a ``.tflite`` flatbuffer written without TensorFlow.

The forward pass is lowered to TF raw ops once (``exports.lowering``, the SavedModel's serving
function) and translated op by op to TFLite builtin ops (``convert``), then written with the
``flatbuffers`` package's Builder following TFLite's published schema (``schema``). The batch
dimension stays dynamic (``shape_signature`` -1: ``resize_tensor_input`` then
``allocate_tensors``), and the ``serving_default`` signature uses the SavedModel's input and
output names. ``input_signature`` (``exports.signature``: one shape per input) may fix the
batch or a dimension the model leaves ``None`` (a sequence length). ``quantize="dynamic_int8"``
stores the FULLY_CONNECTED, CONV_2D and
DEPTHWISE_CONV_2D weights (of at least 1024 values) as int8, symmetric per output channel; the
interpreter runs them with its hybrid kernels.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.tflite")
    >>> m.export(path, format="litert")
    >>> open(path, "rb").read()[4:8]
    b'TFL3'
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError

QUANTIZE_MODES = ("dynamic_int8",)
# a flatbuffer addresses 2 GiB; TFLite's larger files keep their buffers outside it (not written)
MAX_WEIGHT_BYTES = 2**31 - 2**24


def to_tflite(model: Any, quantize: str | None = None, input_signature: Any = None) -> bytes:
    """The ``.tflite`` bytes of ``model`` (``LoweringError`` names what cannot be exported).

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> to_tflite(m, quantize="float16")
        Traceback (most recent call last):
        ...
        savepoint.errors.ConfigError: model.export(format='litert'): expected quantize None or \
one of ('dynamic_int8',). Received quantize='float16'. Fix: drop quantize, or pass \
quantize='dynamic_int8' for int8 weights.
    """
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ConfigError(f"model.export(format='litert'): expected quantize None or one of "
                          f"{QUANTIZE_MODES}. Received quantize={quantize!r}. Fix: drop "
                          f"quantize, or pass quantize='dynamic_int8' for int8 weights.")
    from savepoint.exports.litert.convert import convert
    from savepoint.exports.litert.schema import write_model
    from savepoint.exports.lowering import lower_model
    shapes = None
    if input_signature is not None:
        from savepoint.exports.signature import resolve
        shapes = {s["name"]: tuple(s["shape"]) for s in resolve(model, input_signature,
                                                                  "litert")[0]}
    model_def = convert(lower_model(model), quantize, model, shapes)
    size = sum(len(b) for b in model_def.buffers)
    if size > MAX_WEIGHT_BYTES:
        raise ConfigError(f"model.export(format='litert'): expected at most {MAX_WEIGHT_BYTES:,} "
                          f"bytes of weights (a flatbuffer addresses 2 GiB). Received "
                          f"{size:,} bytes in model '{model.name}'. Fix: pass "
                          f"quantize='dynamic_int8', or export format='onnx' or "
                          f"'tf_saved_model'.")
    return write_model(model_def)


def export(model: Any, filepath: str, input_signature: Any = None, *,
           quantize: str | None = None) -> None:
    """Write ``model``'s forward pass as a TFLite flatbuffer to ``filepath``."""
    data = to_tflite(model, quantize, input_signature)
    from savepoint.saving.storage import write_bytes_atomically
    write_bytes_atomically(filepath, data)


__all__ = ["QUANTIZE_MODES", "export", "to_tflite"]
