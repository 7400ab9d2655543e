"""Converting a save from one format to another (``savepoint convert``), through the registry.

The target format comes from the destination's suffix (``registry.for_suffix``): ``.h5``,
``.weights.h5``, ``.keras``, ``.safetensors``; a name without one is a TensorFlow checkpoint
prefix when it ends as TF names them (``cp.ckpt``, ``ckpt-5``, ``model.ckpt-1000``) and
savepoint's model directory (a TF SavedModel) otherwise; ``to=`` names the format outright. A whole-model source (model
directory, ``.keras``, ``.h5`` model, a SavedModel tf.keras wrote) converts to every format; a
weights-only source needs ``model=``, a model JSON (``model.to_json()``) or a whole-model save
whose architecture receives the weights. The model is loaded with the public ``load_model`` /
``load_weights`` and written with ``save_model`` / ``save_weights``, so every check a load does
runs, and the optimizer state travels wherever both formats hold it.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = tempfile.mkdtemp(); m.save(os.path.join(d, "m.keras"))
    >>> report = convert(os.path.join(d, "m.keras"), os.path.join(d, "cp.ckpt"))
    >>> report.src_format, report.dst_format
    ('keras', 'tf_checkpoint')
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from savepoint.errors import ConfigError, OverwriteError
from savepoint.saving import registry, storage
from savepoint.saving.api import contents


# TensorFlow's checkpoint names: cp.ckpt, ckpt-5, model.ckpt-1000, cp-0005.ckpt
_CKPT_NAME = re.compile(r"(^|\.)ckpt(-\d+)?$")


@dataclass(frozen=True)
class ConvertReport:
    """What :func:`convert` wrote: the formats, the number of ``variables`` the target holds,
    whether it holds optimizer state, and ``notes`` on what the target could not hold.

    Example:
        >>> ConvertReport("a.keras", "b.h5", "keras", "h5", 4, True).notes
        []
    """

    src: str
    dst: str
    src_format: str
    dst_format: str
    variables: int
    optimizer: bool
    notes: list[str] = field(default_factory=list)


def target_format(dst: str, to: str | None = None) -> registry.FormatSpec:
    """The format ``dst`` will be written in (``to``: a format name or ``save_format`` alias).

    Example:
        >>> [target_format(p).name for p in ("cp.ckpt", "my_model", "w.weights.h5", "m.h5")]
        ['tf_checkpoint', 'model_directory', 'keras_weights_h5', 'h5']
        >>> [target_format(p).name for p in ("ckpt-5", "model.ckpt-1000", "run_ckpt")]
        ['tf_checkpoint', 'tf_checkpoint', 'model_directory']
    """
    if to is not None:
        found = registry.formats()
        spec = next((s for s in found if to == s.name), None) or \
            next((s for s in found if to in s.aliases), None)
        if spec is None:
            names = sorted({s.name for s in registry.formats() if not s.read_only})
            raise ConfigError(f"Expected a target format name, one of {names}. Received "
                              f"{to!r}. Fix: pass one of those, or leave it out and let the "
                              f"destination's suffix decide.")
    else:
        spec = registry.for_suffix(dst)
        if spec is None:
            base = os.path.basename(os.fspath(dst).rstrip("/\\")).lower()
            spec = registry.get("tf_checkpoint" if _CKPT_NAME.search(base) else "model_directory")
        elif spec.name == "h5_weights":  # '.h5' is a whole model unless told otherwise
            spec = registry.get("h5")
    if spec.read_only:
        raise ConfigError(f"Expected a target format savepoint writes. Received {spec.name!r} "
                          f"({spec.description}), which it only reads. Fix: write a model "
                          f"directory (a path without suffix): it is a TensorFlow SavedModel.")
    return spec


def build_model(model: Any) -> tuple[Any, bool]:
    """``(model, has_optimizer)`` from ``model``: a model JSON file (``model.to_json()``), a
    JSON string, or a whole-model save whose architecture (and compiled optimizer, freshly
    initialized) it takes. The weights are the save's; callers replace them.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> type(build_model(m.to_json())[0]).__name__
        'Sequential'
    """
    from savepoint.models import model_from_json
    text = str(model)
    if text.lstrip().startswith("{"):
        return model_from_json(text), False
    if text.lower().endswith(".json"):
        return model_from_json(storage.read_text(text)), False
    spec = contents.find_format(text)
    if spec.kind != "model":
        raise ConfigError(f"Expected --model to be a model JSON file (from model.to_json()) or a "
                          f"whole-model save (model directory, '.keras', '.h5' model, "
                          f"SavedModel). Received {text!r}, a weights-only "
                          f"{spec.description or spec.name} save, which holds no architecture. "
                          f"Fix: pass the JSON or whole model the weights were trained with.")
    built = _load_model(text)
    optimizer = getattr(built, "optimizer", None)
    if optimizer is None:
        return built, False
    built.optimizer = type(optimizer).from_config(optimizer.get_config())  # no state of its own
    return built, True


def _load_model(path: str) -> Any:
    from savepoint.saving.api.model_api import load_model
    with warnings.catch_warnings():  # an uncompiled model converts and compares as well
        warnings.filterwarnings("ignore", message="No training configuration found")
        return load_model(path)


def finish_optimizer(model: Any) -> None:
    """Build an optimizer that holds restored state still waiting for its first step (a load
    defers the slots, as tf.keras does), so that the state is there to save and compare.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> finish_optimizer(m)  # no optimizer: nothing to do
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built and getattr(optimizer, "_pending", None):
        optimizer.build(model.trainable_weights)


def load_any(path: str, model: Any = None, what: str = "convert") -> tuple[Any, Any]:
    """``(format, model)``: the whole-model save at ``path`` loaded, or a weights-only save
    loaded into a model built from ``model`` (see :func:`build_model`); optimizer state built.

    Example:
        >>> load_any("/nonexistent.weights.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    from savepoint.saving.api.weights_api import load_weights
    spec = contents.find_format(path)
    if spec.kind == "model":
        loaded = _load_model(path)
    else:
        if model is None:
            raise ConfigError(
                f"Expected --model CONFIG_OR_MODEL_FILE to {what} {path!r}: it is a weights-only "
                f"{spec.description or spec.name} save and holds no architecture. Received no "
                f"--model. Fix: pass --model model.json (written from model.to_json()) or "
                f"--model <a whole-model save of the same architecture>.")
        loaded, _ = build_model(model)
        load_weights(loaded, path)
    if not hasattr(loaded, "weights"):
        raise ConfigError(f"Expected a save holding a Keras model to {what}. Received {path!r}, "
                          f"a {spec.description or spec.name}: an inference program without "
                          f"the model's layers. Fix: {what} the save it was exported from.")
    finish_optimizer(loaded)
    return spec, loaded


def _same_path(a: str, b: str) -> bool:
    a, b = a.rstrip("/"), b.rstrip("/")
    if storage.is_remote(a) or storage.is_remote(b):
        return a == b
    return os.path.abspath(a) == os.path.abspath(b)


def has_optimizer_state(names: list[str]) -> bool:
    """Whether stored tensor ``names`` include optimizer state (TF: ``optimizer/...``; Keras 3:
    ``optimizer/vars/...``; Keras 2 ``.h5``: ``optimizer_weights/...``).

    Example:
        >>> has_optimizer_state(["layers/dense/vars/0", "optimizer/vars/0"])
        True
    """
    return any(n.split("/", 1)[0] in ("optimizer", "optimizer_weights") for n in names)


def convert(src: str, dst: str, model: Any = None, overwrite: bool = False,
            to: str | None = None) -> ConvertReport:
    """Write the save at ``src`` to ``dst`` in the format ``dst`` names (see the module
    docstring); ``model`` gives a weights-only source its architecture.

    Example:
        >>> convert("/nonexistent/m.keras", "/tmp/x.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    from savepoint.saving.api.model_api import save_model
    from savepoint.saving.api.weights_api import save_weights
    src, dst = os.fspath(src), os.fspath(dst)
    target = target_format(dst, to)
    if _same_path(src, dst):
        raise ConfigError(f"Expected a destination other than the source. Received {dst!r} for "
                          f"both. Fix: write the converted save to a new path.")
    if (target.present(dst) or storage.exists(dst)) and not overwrite:
        raise OverwriteError(f"Expected {dst!r} not to exist. Received an existing "
                             f"{'save' if target.present(dst) else 'path'} there. Fix: pass "
                             f"--overwrite (overwrite=True) or choose another path.")
    source_names = [v.name for v in contents.list_variables(src)]
    source_state = has_optimizer_state(source_names)
    spec, loaded = load_any(src, model)
    alias = target.aliases[0] if target.aliases else None
    if target.kind == "model":  # a template's fresh optimizer keeps the compile config
        save_model(loaded, dst, overwrite=True, save_format=alias)
    else:
        optimizer = getattr(loaded, "optimizer", None)
        if not source_state:  # a template's fresh optimizer is no state of the source's
            loaded.optimizer = None
        try:
            save_weights(loaded, dst, overwrite=True, save_format=alias)
        finally:
            loaded.optimizer = optimizer
    written = [v.name for v in contents.list_variables(dst)]
    notes = []
    kept = source_state and has_optimizer_state(written)
    if source_state and not kept:
        notes.append(f"the optimizer state of {src!r} was left out: "
                     + ("the target format holds no optimizer state"
                        if getattr(loaded, "optimizer", None) is not None else
                        "the model given by --model has no optimizer (a model JSON holds no "
                        "compile config; pass a whole-model save to keep it)"))
    return ConvertReport(src, dst, spec.name, target.name, len(written), kept, notes)


__all__ = ["ConvertReport", "build_model", "convert", "finish_optimizer",
           "has_optimizer_state", "load_any", "target_format"]
