"""The savepoint model directory: ``model.save("saved_model/my_model")`` and its ``load_model``.

Layout (all written into a temporary sibling directory, then renamed into place)::

    saved_model.json   format name/version, library versions, architecture + compile config
    variables/variables.index, variables.data-00000-of-00001   TF tensor bundle (+ optimizer)
    assets/<layer name>/<file>   files layers declare with ``get_assets()``
    inference/program.json       torch.export graph as JSON (see ``saving.inference``)
    fingerprint.json             sha256 of every other file, checked before anything is read

Loading never imports a module named in a file: classes come from built-ins, registrations,
``custom_object_scope`` and ``custom_objects``. If the architecture names a class that cannot be
resolved and the directory holds an inference program, ``load_model`` warns and returns an
``InferenceModel`` (predict only) -- whether or not ``compile`` was requested, since a model
without its class cannot train; without a program the ``UnknownObjectError`` names the class.
A ``Lambda`` refused by ``safe_mode=True`` is an error, not a fallback: the user decides.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "my_model"); save(m, path, True)
    >>> sorted(storage.listdir(path))[:4]
    ['assets', 'fingerprint.json', 'fingerprint.pb', 'inference']
"""

from __future__ import annotations

import json
import os
import platform
import re
import warnings
from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError, OverwriteError, UnknownObjectError
from savepoint.exports import inference
from savepoint.saving import registry, storage
from savepoint.saving.engine import whole_model
from savepoint.saving.handlers import fingerprint, verification

FORMAT_NAME = "savepoint.model"
FORMAT_VERSION = 1
META_FILE = "saved_model.json"
VARIABLES = "variables/variables"
ASSETS = "assets"
_SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _WithoutOptimizer:
    """The model's checkpoint tree minus the optimizer (``include_optimizer=False``)."""

    def __init__(self, model: Any):
        self._model = model
        self._trackable_identity = model

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return [(n, c) for n, c in self._model._trackable_children() if n != "optimizer"]


# ----- save ---------------------------------------------------------------------------------
def save(model: Any, path: str, include_optimizer: bool = True) -> None:
    """Write ``model`` as a model directory at ``path`` (atomically replacing an old one)."""
    from savepoint.saving.engine.model_config import compile_config
    path = os.fspath(path)
    _check_target(path)
    whole_model.require_built(model)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **_versions(),
            "model_config": whole_model.model_config(model),
            "compile_config": compile_config(model) if include_optimizer else None,
            "include_optimizer": bool(include_optimizer),
            "compiled": bool(getattr(model, "compiled", False))}
    temp = storage.temp_dir_for(path)
    try:
        _write_contents(model, temp, meta, include_optimizer)
        storage.commit_directory(temp, path)
    except BaseException:
        storage.remove_tree(temp)
        raise


def _write_contents(model: Any, temp: str, meta: dict, include_optimizer: bool) -> None:
    from savepoint.saving.engine.checkpoint_io import save_tree
    from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
    from savepoint.saving.mapping.object_graph import collect
    root = model if include_optimizer else _WithoutOptimizer(model)
    storage.makedirs(os.path.join(temp, "variables"))
    save_tree(root, os.path.join(temp, VARIABLES))
    hashing = {f"variables/{rel}": fingerprint.Pending(
        lambda rel=rel: fingerprint.sha256_file(os.path.join(temp, "variables", rel)))
        for rel in storage.list_tree(os.path.join(temp, "variables"))}  # while we go on
    meta["assets"] = _write_assets(model, temp)
    _write_tf_saved_model(model, temp, include_optimizer)
    keys = {id(var.value): key for key, var in collect(root).keyed_variables}
    exported = _export(model, meta["model_config"], keys)
    if exported.error is None:
        storage.makedirs(os.path.join(temp, "inference"))
        storage.write_bytes_atomically(os.path.join(temp, inference.PROGRAM_FILE),
                                       exported.program)
        if exported.extra:
            write_bundle(os.path.join(temp, inference.TENSORS_PREFIX), exported.extra)
        meta["inference"] = {"available": True, "program": inference.PROGRAM_FILE,
                             "inputs": exported.inputs, "structure": exported.structure,
                             "tensors": exported.tensors}
    else:
        meta["inference"] = {"available": False, "reason": exported.error}
    storage.replace_text_atomically(os.path.join(temp, META_FILE), _to_json(meta))
    fingerprint.write_fingerprint(temp, hashing)


def _write_tf_saved_model(model: Any, temp: str, include_optimizer: bool) -> None:
    """TensorFlow's SavedModel files beside ours (``saved_model.pb``, ``keras_metadata.pb``,
    over the same ``variables/``), so TF's loaders open the directory too. A model tf.keras
    cannot describe (a config it has no dialect for) keeps savepoint's files only, with a
    warning: savepoint's own save never fails for TensorFlow's sake."""
    from savepoint.errors import SavepointError
    from savepoint.saving.handlers.saved_model_writer import write_saved_model_files
    try:
        write_saved_model_files(model, temp, include_optimizer)
    except SavepointError as e:
        for name in ("saved_model.pb", "keras_metadata.pb", "fingerprint.pb"):
            storage.remove(os.path.join(temp, name))
        warnings.warn(f"Model '{model.name}' saved without TensorFlow SavedModel files "
                      f"(saved_model.pb): {e}", stacklevel=4)


def _export(model: Any, config: dict, keys: dict[int, str]) -> inference.Exported:
    """Export once per architecture: later saves of the same model reuse the graph (the
    weights it reads are the variables, saved fresh every time)."""
    cache_key = (json.dumps(config, sort_keys=True, default=str),
                 tuple(sorted(keys.items())))
    cached = model.__dict__.get("_savepoint_export")
    if cached is not None and cached[0] == cache_key:
        return cached[1]
    exported = inference.export_model(model, keys)
    if exported.error is None and not exported.extra:  # extra tensors may change: no cache
        model.__dict__["_savepoint_export"] = (cache_key, exported)
    return exported


def _write_assets(model: Any, temp: str) -> dict[str, list[str]]:
    written: dict[str, list[str]] = {}
    for layer in model._flat_layers(include_self=True):
        files = layer.get_assets()
        if not files:
            continue
        if layer.name in written or not _SAFE_FILE.match(layer.name):
            raise ConfigError(f"Layer '{layer.name}' declares assets, so its name must be unique "
                              f"in the model and a plain file name. Rename the layer.")
        for name, data in files.items():
            if not isinstance(name, str) or not _SAFE_FILE.match(name):
                raise ConfigError(
                    f"Layer '{layer.name}' declared an asset named {name!r}. Expected a plain "
                    f"file name (letters, digits, '_', '-', '.'; no directories).")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ConfigError(f"Layer '{layer.name}' asset {name!r} must be bytes. "
                                  f"Received {type(data).__name__}.")
            directory = os.path.join(temp, ASSETS, layer.name)
            storage.makedirs(directory)
            storage.write_bytes_atomically(os.path.join(directory, name), data)
        written[layer.name] = sorted(files)
    storage.makedirs(os.path.join(temp, ASSETS))
    return written


def _check_target(path: str) -> None:
    """Refuse to replace a file or a directory that is not a savepoint model (its contents would
    be deleted)."""
    if storage.isdir(path) and storage.listdir(path) and \
            not storage.exists(os.path.join(path, META_FILE)):
        raise OverwriteError(
            f"Expected {path!r} to be a new path or a savepoint model directory to replace. "
            f"Received a non-empty directory that holds no {META_FILE}; saving would delete "
            f"its files. Fix: choose another path or empty the directory.")
    if storage.exists(path) and not storage.isdir(path):
        raise OverwriteError(
            f"Expected {path!r} to be a directory path for the model. Received an existing file. "
            f"Fix: remove the file or choose another path (or use '.h5'/'.keras').")


def _versions() -> dict:
    import savepoint
    return {"savepoint_version": savepoint.__version__, "torch_version": torch.__version__,
            "numpy_version": np.__version__, "python_version": platform.python_version()}


def _to_json(meta: dict) -> str:
    whole_model.check_json(meta)
    return json.dumps(meta, indent=1) + "\n"


# ----- load ---------------------------------------------------------------------------------
def load(path: str, custom_objects: dict | None = None, compile: bool = True,
         safe_mode: bool = True) -> Any:
    """Load a model directory (see the module docstring for the rules)."""
    path = os.fspath(path)
    _check_directory(path)
    # Every file is verified against fingerprint.json in a helper thread while the model is
    # rebuilt and its variables read; the data shards only for presence, since the bundle
    # reader checks each tensor's crc32c as it reads it. Nothing is returned before the check
    # passes, and its error wins over any other.
    verifying = fingerprint.verify_in_background(path, ("variables/variables.data-",))
    try:
        meta = _parse_meta(path)
        with whole_model.loading_scope(safe_mode, custom_objects):
            model = _rebuild(path, meta, custom_objects)
            if not isinstance(model, inference_model_cls()):
                _load_assets(model, path, meta)
                if compile:
                    _compile(model, meta, custom_objects)
        if not isinstance(model, inference_model_cls()):
            _restore(model, path, compile)
    except BaseException:
        verifying.result()
        raise
    verifying.result()
    return model


def inference_model_cls() -> type:
    from savepoint.exports.inference_model import InferenceModel
    return InferenceModel


def read_meta(path: str) -> dict:
    """Check that ``path`` is an intact model directory of a version we read; its metadata."""
    _check_directory(path)
    fingerprint.verify_fingerprint(path)
    return _parse_meta(path)


def _check_directory(path: str) -> None:
    if not storage.isdir(path):
        raise FormatError(f"Expected a savepoint model directory at {path!r}. Received a file. "
                          f"Fix: pass the directory model.save() wrote (or a '.h5'/'.keras' file "
                          f"with its extension).")
    if not storage.exists(os.path.join(path, META_FILE)):
        hint = (" It looks like a TensorFlow SavedModel (saved_model.pb): open it with "
                "load_model(path), which reads tf.keras's SavedModels."
                if storage.exists(os.path.join(path, "saved_model.pb")) else "")
        raise FormatError(f"{path!r} is not a savepoint model directory: expected {META_FILE} in "
                          f"it. Received {storage.listdir(path)[:8]}.{hint} Fix: pass the "
                          f"directory model.save() wrote.")
    if not storage.exists(os.path.join(path, fingerprint.FINGERPRINT_FILE)):
        raise FormatError(f"Model directory {path!r} has no {fingerprint.FINGERPRINT_FILE}, which "
                          f"a finished save always writes (the save was interrupted or files "
                          f"were lost). Fix: re-save the model or copy the whole directory.")


def _parse_meta(path: str) -> dict:
    meta_path = os.path.join(path, META_FILE)
    try:
        meta = json.loads(storage.read_text(meta_path))
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"Expected JSON in {meta_path!r}. Received unreadable text ({e}). "
                          f"Fix: re-save the model.") from None
    _check_version(meta, meta_path)
    return meta


def _check_version(meta: Any, meta_path: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FormatError(f"Expected {meta_path!r} to declare format {FORMAT_NAME!r}. Received "
                          f"{found!r}. Fix: pass a directory written by savepoint's model.save().")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"Expected an integer format_version >= 1 in {meta_path!r}. Received "
                          f"{version!r}. Fix: re-save the model.")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{meta_path!r} has format_version {version}, saved by savepoint "
            f"{meta.get('savepoint_version', '?')}; this savepoint reads format_version up to "
            f"{FORMAT_VERSION}. Fix: upgrade savepoint (pip install -U savepoint).")
    if not isinstance(meta.get("model_config"), dict):
        raise FormatError(f"Expected a 'model_config' object in {meta_path!r}. Received "
                          f"{type(meta.get('model_config')).__name__}. Fix: re-save the model.")


def _rebuild(path: str, meta: dict, custom_objects: dict | None) -> Any:
    try:
        return whole_model.rebuild(meta["model_config"], custom_objects,
                                   os.path.join(path, META_FILE))
    except UnknownObjectError as e:
        missing = getattr(e, "object_name", None)
        info = inference.check_info(meta.get("inference") or {}, os.path.join(path, META_FILE))
        if missing is None or not info.get("available"):
            reason = info.get("reason", "it was saved without one")
            raise UnknownObjectError(
                f"{e} (Model directory {path!r} has no inference program to fall back on: "
                f"{reason}.)") from None
        warnings.warn(
            f"Could not resolve class '{missing}' of model directory {path!r}: returning an "
            f"inference-only model (predict() from the saved torch.export program; no fit, "
            f"no compile). Fix: pass custom_objects={{'{missing}': {missing}}} or register the "
            f"class to get the full model.", stacklevel=4)
        return load_inference(path, meta, missing)


def load_inference(path: str, meta: dict, missing: str | None = None) -> Any:
    """The directory's inference program as an ``InferenceModel`` (no Python class needed)."""
    info = inference.check_info(meta.get("inference") or {}, os.path.join(path, META_FILE))
    if not info.get("available"):
        raise FormatError(f"Model directory {path!r} has no inference program: "
                          f"{info.get('reason', 'none was saved')}.")
    state, constants = _program_tensors(path, info)
    where = os.path.join(path, inference.PROGRAM_FILE)
    module = inference.load_program(storage.read_bytes(where), state, constants, where)
    inner = meta["model_config"].get("config")
    name = inner.get("name", "model") if isinstance(inner, dict) else "model"
    return inference_model_cls()(module, info["inputs"], info.get("structure"), name, missing)


def _program_tensors(path: str, info: dict) -> tuple[dict, dict]:
    from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader
    from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
    readers: dict[str, Any] = {}
    state: dict[str, torch.Tensor] = {}
    constants: dict[str, torch.Tensor] = {}
    try:
        for name, entry in info["tensors"].items():
            source = entry["source"]
            if source not in ("variables", inference.TENSORS_PREFIX):
                raise FormatError(f"Unknown tensor source {source!r} in {META_FILE}.")
            prefix = os.path.join(path, VARIABLES if source == "variables" else source)
            reader = readers.get(prefix) or readers.setdefault(prefix, BundleReader(prefix))
            value = reader.get_tensor(entry["key"])
            if isinstance(value, BFloat16Array):
                tensor = torch.from_numpy(value.bits.view(np.int16).copy()).view(torch.bfloat16)
            else:
                tensor = torch.from_numpy(np.array(value, copy=True))
            if entry.get("parameter"):
                tensor = torch.nn.Parameter(tensor, requires_grad=False)
            (state if entry["kind"] == "state" else constants)[name] = tensor
    finally:
        for reader in readers.values():
            reader.close()
    return state, constants


def _load_assets(model: Any, path: str, meta: dict) -> None:
    declared = meta.get("assets") or {}
    for layer in model._flat_layers(include_self=True):
        names = declared.get(layer.name)
        if not names:
            continue
        files = {}
        for name in names:
            if not _SAFE_FILE.match(str(name)) or not _SAFE_FILE.match(layer.name):
                raise FormatError(f"Asset name {name!r} of layer '{layer.name}' in {path!r} is "
                                  f"not a plain file name. Fix: re-save the model.")
            files[name] = storage.read_bytes(os.path.join(path, ASSETS, layer.name, name))
        layer.load_assets(files)


def _compile(model: Any, meta: dict, custom_objects: dict | None) -> None:
    from savepoint.saving.engine.model_config import compile_from_config
    config = meta.get("compile_config")
    if not config and meta.get("compiled"):  # saved with include_optimizer=False
        whole_model.warn_not_compiled()
    if config:
        compile_from_config(model, config, custom_objects)


def _restore(model: Any, path: str, compiled: bool) -> None:
    from savepoint.saving.engine.checkpoint_io import restore_tree
    root = model if compiled else _WithoutOptimizer(model)
    status = restore_tree(root, os.path.join(path, VARIABLES))
    status.expect_partial()  # optimizer values stay unused when loading for inference
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        raise FormatError(f"The variables in {path!r} do not match the architecture in "
                          f"{META_FILE}: {e} Fix: re-save the model.") from None


def _check_model_path(path: str) -> None:
    """A name with an unknown extension is a typo far more often than a directory name."""
    base = os.path.basename(path.rstrip("/\\")).lower()
    if "." in base and not storage.isdir(path):
        ext = base.rsplit(".", 1)[1]
        if ext not in ("ckpt", "model", "savedmodel", "tf"):
            raise ConfigError(
                f"Unknown model file extension '.{ext}' in {path!r}. Expected a directory "
                f"path without extension (savepoint model directory), '.h5'/'.hdf5' (Keras 2) "
                f"or '.keras' (Keras 3).")


def _present(path: str) -> bool:
    return storage.isdir(path) and storage.exists(os.path.join(path, META_FILE))


registry.register(registry.FormatSpec(
    name="model_directory", kind="model", suffixes=(), example="my_model",
    save=save, load=load,
    verify=verification.verify_model_dir, delete=storage.remove_tree, present=_present,
    aliases=("tf", "directory"), fallback=True, check_path=_check_model_path,
    description="savepoint model directory"))

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "load_inference", "read_meta", "save"]
