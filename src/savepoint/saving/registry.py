"""The one registry of save formats: each user-visible format is one ``FormatSpec`` record.

Everything that picks a format (``save_weights``/``load_weights``, ``model.save``/``load_model``,
``verify``, ``ModelCheckpoint``'s pruning, ``CheckpointManager``, async saving) asks this module;
nothing else looks at suffixes. A handler module registers its record when imported, and the
registry imports ``saving.handlers`` (which imports every handler) on first use.

Example:
    >>> for_path("training_1/cp.ckpt", "weights").name, for_path("m.weights.h5", "weights").name
    ('tf_checkpoint', 'keras_weights_h5')
    >>> for_path("my_model", "model").name, for_path("m.keras", "model").name
    ('model_directory', 'keras')
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

from savepoint.errors import ConfigError

KINDS = ("weights", "model")


@dataclass(frozen=True)
class FormatSpec:
    """One format: how it is named, found, written, read, checked and removed.

    - ``kind``: ``"weights"`` (``save(model, path)``, ``load(model, path, skip_mismatch,
      by_name)``) or ``"model"`` (``save(model, path, include_optimizer)``, ``load(path,
      custom_objects, compile, safe_mode)``).
    - ``suffixes``: lower-case name endings that select it (the longest match wins); a format
      with ``fallback=True`` takes paths no suffix claims.
    - ``example``: a file name that selects it (``"cp.ckpt"``, ``"w.safetensors"``); the test
      suites save to it, so a new format is covered without editing them.
    - ``aliases``: the ``save_format=`` names that select it.
    - ``present(path)``: whether a save of this format is at ``path`` (sniffing, for ``verify``
      and ``delete`` of saves whose names carry no suffix).
    - ``verify(path) -> VerifyReport``, ``delete(path)``.
    - ``check_path(path)``: a fallback format's refusal of names it cannot mean.
    - ``snapshot(model, copy)``/``persist(snapshot, path)``: a format's own split of an async
      save; without them an async save snapshots every variable and runs ``save`` in the
      background on those copies (``engine.frozen``).
    - ``read_only``: savepoint reads this format but never writes it (SavedModels written by
      tf.keras): its ``save`` refuses, and the suites that save skip it.

    Example:
        >>> spec = for_path("w.safetensors", "weights")
        >>> spec.kind, spec.suffixes
        ('weights', ('.safetensors',))
    """

    name: str
    kind: str
    suffixes: tuple[str, ...]
    example: str
    save: Callable[..., Any]
    load: Callable[..., Any]
    verify: Callable[[str], Any]
    delete: Callable[[str], None]
    present: Callable[[str], bool]
    aliases: tuple[str, ...] = ()
    fallback: bool = False
    check_path: Callable[[str], None] | None = None
    snapshot: Callable[[Any, Any], Any] | None = None
    persist: Callable[[Any, str], None] | None = None
    description: str = ""
    read_only: bool = False


_FORMATS: dict[str, FormatSpec] = {}
_LOADED = threading.Lock()
_loaded = False


def register(spec: FormatSpec) -> FormatSpec:
    """Add ``spec`` (a handler calls this once, at import).

    Example:
        >>> register(formats()[0]) is formats()[0]
        True
    """
    if spec.kind not in KINDS:
        raise ConfigError(f"Expected a format kind in {KINDS}. Received {spec.kind!r} for "
                          f"format {spec.name!r}. Fix: register it as 'weights' or 'model'.")
    if spec.fallback and any(s.fallback and s.kind == spec.kind and s.name != spec.name
                             for s in _FORMATS.values()):
        raise ConfigError(f"Expected one fallback {spec.kind} format. Received a second, "
                          f"{spec.name!r}. Fix: give it suffixes instead.")
    _FORMATS[spec.name] = spec
    return spec


def _ensure_handlers() -> None:
    global _loaded
    if _loaded:
        return
    with _LOADED:
        if not _loaded:
            importlib.import_module("savepoint.saving.handlers")
            _loaded = True


def formats(kind: str | None = None) -> list[FormatSpec]:
    """Every registered format (of ``kind``), in registration order; the test suites iterate
    this so that a new format is covered without editing them.

    Example:
        >>> [s.name for s in formats("model")]
        ['model_directory', 'h5', 'keras', 'tf_saved_model', 'torch_export']
    """
    _ensure_handlers()
    return [s for s in _FORMATS.values() if kind is None or s.kind == kind]


def get(name: str) -> FormatSpec:
    """The format registered as ``name``.

    Example:
        >>> get("tf_checkpoint").kind
        'weights'
    """
    _ensure_handlers()
    if name not in _FORMATS:
        raise ConfigError(f"Expected a registered format name, one of {sorted(_FORMATS)}. "
                          f"Received {name!r}.")
    return _FORMATS[name]


def _by_suffix(base: str, kind: str | None) -> FormatSpec | None:
    best, length = None, 0
    for spec in formats(kind):
        for suffix in spec.suffixes:
            if base.endswith(suffix) and len(suffix) > length:
                best, length = spec, len(suffix)
    return best


def for_path(path: Any, kind: str, save_format: str | None = None) -> FormatSpec:
    """The ``kind`` format a path (or an explicit ``save_format``) selects.

    A suffix of the other kind is refused with the call that handles it; a path no suffix
    claims takes the kind's fallback format.

    Example:
        >>> for_path("w.h5", "weights").name, for_path("w", "weights", save_format="h5").name
        ('h5_weights', 'h5_weights')
    """
    if save_format is not None:
        return _by_alias(save_format, kind)
    base = os.path.basename(os.fspath(path).rstrip("/\\")).lower()
    spec = _by_suffix(base, kind)
    if spec is not None:
        return spec
    other = _by_suffix(base, next(k for k in KINDS if k != kind))
    if other is not None:
        suffix = max((x for x in other.suffixes if base.endswith(x)), key=len)
        raise ConfigError(_wrong_kind(path, kind, other, suffix))
    fallback = next(s for s in formats(kind) if s.fallback)
    if fallback.check_path is not None:
        fallback.check_path(os.fspath(path))
    return fallback


def _by_alias(save_format: str, kind: str) -> FormatSpec:
    for spec in formats(kind):
        if save_format in spec.aliases:
            return spec
    known = sorted(a for s in formats(kind) for a in s.aliases)
    raise ConfigError(f"Unknown save_format {save_format!r}. Expected one of {known}. Fix: "
                      f"pass one of those, or leave save_format out and let the path decide.")


def _wrong_kind(path: Any, kind: str, other: FormatSpec, suffix: str) -> str:
    if kind == "weights":
        return (f"save_weights/load_weights expected a weights path such as 'model.weights.h5', "
                f"'weights.h5', 'w.safetensors' or a checkpoint prefix. Received {path!r}, a "
                f"whole-model '{suffix}' path ({other.description or other.name}). Fix: use "
                f"model.save()/load_model() for '{suffix}' files.")
    return (f"model.save/load_model expected a model path: a directory path without extension, "
            f"'.h5'/'.hdf5' or '.keras'. Received {path!r}, a weights-only '{suffix}' path "
            f"({other.description or other.name}). Fix: use save_weights()/load_weights() for "
            f"it, or pick a model path.")


def for_suffix(path: Any) -> FormatSpec | None:
    """The format (any kind) whose suffix ``path`` carries, or None.

    Example:
        >>> for_suffix("m.keras").name, for_suffix("cp.ckpt")
        ('keras', None)
    """
    return _by_suffix(os.path.basename(os.fspath(path).rstrip("/\\")).lower(), None)


def detect(path: Any) -> FormatSpec | None:
    """The format of the save that is at ``path`` (any kind), or None when nothing is there.
    Formats sharing a suffix (a Keras 2 ``.h5`` model and ``.h5`` weights) are told apart by
    their ``present`` sniffing, whole models first.

    Example:
        >>> detect("/nonexistent/cp.ckpt") is None
        True
    """
    path = os.fspath(path)
    base = os.path.basename(path.rstrip("/\\")).lower()
    matching = [(max(len(x) for x in s.suffixes if base.endswith(x)), s.kind == "model", s)
                for s in formats() if any(base.endswith(x) for x in s.suffixes)]
    for _, _, spec in sorted(matching, key=lambda m: (m[0], m[1]), reverse=True):
        if spec.present(path):
            return spec
    for spec in formats():
        if not spec.suffixes and spec.present(path):
            return spec
    return None


__all__ = ["FormatSpec", "detect", "for_path", "for_suffix", "formats", "get", "register"]
