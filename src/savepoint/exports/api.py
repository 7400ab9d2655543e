"""``model.export(filepath, format=...)``: one entry point, one exporter module per format.

The names are Keras 3's (``tf_saved_model``, ``litert``, ``onnx``) plus ``tfjs`` and ``torch``.
Each exporter lives in its own module, imported only when its format is asked for (so that
``onnx`` or ``flatbuffers`` are needed only by those who export to them), and provides
``export(model, filepath, input_signature=None, **options)``. The options an exporter accepts
are the keyword parameters of that function; anything else is refused here, before it runs.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = os.path.join(tempfile.mkdtemp(), "serving")
    >>> m.export(d, format="tf_saved_model")
    >>> sorted(os.listdir(d))
    ['assets', 'fingerprint.pb', 'saved_model.pb', 'variables']
    >>> sorted(EXPORT_FORMATS)
    ['litert', 'onnx', 'tf_saved_model', 'tfjs', 'torch']
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from savepoint.errors import ConfigError

# format name -> module that defines ``export(model, filepath, input_signature=None, **options)``
EXPORT_FORMATS: dict[str, str] = {
    "tf_saved_model": "savepoint.exports.saved_model_export",
    "litert": "savepoint.exports.litert",
    "tfjs": "savepoint.exports.tfjs",
    "onnx": "savepoint.exports.onnx_export",
    "torch": "savepoint.exports.torch_export",
}
_ALIASES = {"tflite": "litert", "saved_model": "tf_saved_model", "tf": "tf_saved_model"}


def exporter_for(format: str) -> Any:
    """The ``export`` function of ``format`` (or one of its aliases: ``tflite``,
    ``saved_model``); ``ConfigError`` names the formats for anything else.

    Example:
        >>> exporter_for("saved_model").__module__
        'savepoint.exports.saved_model_export'
    """
    name = _ALIASES.get(str(format).lower(), str(format).lower())
    if name not in EXPORT_FORMATS:
        raise ConfigError(f"model.export: expected format to be one of {sorted(EXPORT_FORMATS)}. "
                          f"Received format={format!r}. Fix: pass one of those names.")
    return importlib.import_module(EXPORT_FORMATS[name]).export


def export(model: Any, filepath: str, format: str = "tf_saved_model",
           input_signature: Any = None, verbose: Any = None, **options: Any) -> None:
    """Write ``model``'s inference forward pass to ``filepath`` in ``format`` (see the module
    docstring). ``options`` go to that format's exporter; unknown ones raise ``ConfigError``.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> export(m, os.path.join(tempfile.mkdtemp(), "m"), format="nope")
        Traceback (most recent call last):
        ...
        savepoint.errors.ConfigError: model.export: expected format to be one of ['litert', \
'onnx', 'tf_saved_model', 'tfjs', 'torch']. Received format='nope'. Fix: pass one of those names.
    """
    fn = exporter_for(format)
    accepted = [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"model.export(format={format!r}): expected options among "
                          f"{accepted or 'none'}. Received {unknown}. Fix: drop them, or pick "
                          f"the format that takes them.")
    fn(model, str(filepath), input_signature=input_signature, **options)
    if verbose:
        print(f"Saved artifact at '{filepath}'.")


__all__ = ["EXPORT_FORMATS", "export", "exporter_for"]
