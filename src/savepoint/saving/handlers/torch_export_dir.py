"""Reading ``model.export(path, format="torch")`` directories back: ``load_model(path)`` returns
their program as an ``InferenceModel`` (predict only; savepoint never writes this format through
``model.save``, so it is registered read-only).

``present`` claims a directory with ``export.json`` naming the torch export format and no
savepoint ``saved_model.json``; everything else about the directory is checked by
``exports.torch_export`` when it loads.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))], name="tiny")
    >>> d = os.path.join(tempfile.mkdtemp(), "tiny_torch"); m.export(d, format="torch")
    >>> present(d), keras.models.load_model(d)
    (True, <InferenceModel 'tiny' inputs=[[None, 3]]>)
"""

from __future__ import annotations

import json
import os
from typing import Any

from savepoint.errors import ConfigError
from savepoint.saving import registry, storage
from savepoint.saving.handlers import verification

FORMAT = "torch_export"


def load(path: str, custom_objects: dict | None = None, compile: bool = True,
         safe_mode: bool = True) -> Any:
    """The exported program as an ``InferenceModel`` (``custom_objects``/``compile`` have
    nothing to act on: the directory holds no architecture)."""
    from savepoint.exports.torch_export import load_inference_model
    return load_inference_model(path)


def verify(path: str) -> verification.VerifyReport:
    """Check the directory by loading it: metadata, program (operators, shape expressions) and
    every tensor of ``weights.safetensors`` (its CRC-32Cs)."""
    from savepoint.exports.torch_export import WEIGHTS, load, read_meta
    meta = read_meta(path)
    load(path)
    size = os.path.getsize(os.path.join(path, WEIGHTS)) if "://" not in path else 0
    return verification.VerifyReport(path, FORMAT, len(meta["tensors"]), size)


def save(model: Any, path: str, include_optimizer: bool = True) -> None:
    """Refuse: this format is written by ``model.export(path, format="torch")``."""
    raise ConfigError(f"Expected model.save to pick a format it writes for {path!r}. Received "
                      f"a request to write {FORMAT!r}, which model.export writes. Fix: call "
                      f"model.export({path!r}, format='torch').")


def present(path: str) -> bool:
    """A directory at ``path`` whose ``export.json`` names the torch export format."""
    from savepoint.exports.torch_export import FORMAT_NAME, META
    path = os.fspath(path)
    where = os.path.join(path, META)
    if not (storage.isdir(path) and storage.exists(where)) or \
            storage.exists(os.path.join(path, "saved_model.json")):
        return False
    try:
        return json.loads(storage.read_bytes(where)).get("format") == FORMAT_NAME
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False


registry.register(registry.FormatSpec(
    name=FORMAT, kind="model", suffixes=(), example="model_torch", save=save, load=load,
    verify=verify, delete=storage.remove_tree, present=present, read_only=True,
    description="model.export(format='torch') directory (inference only)"))

__all__ = ["FORMAT", "load", "present", "save", "verify"]
