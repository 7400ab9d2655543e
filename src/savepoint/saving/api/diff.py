"""Comparing two saves variable by variable (``savepoint diff``), in one format or across two.

Saves whose formats name tensors alike are compared by their stored names: TensorFlow's object
keys (checkpoint, model directory, SavedModel), Keras 3's paths (``.weights.h5``, ``.keras``,
``.safetensors``) or Keras 2's HDF5 paths (``.h5`` weights and models, ``model_weights/``
dropped). Saves of two naming families (a checkpoint against a ``.weights.h5``) are loaded into
the same architecture, from whichever side is a whole model or from ``model=``, and compared by
the model's variable paths (``dense/kernel``), their optimizer state too when both hold one.
The checkpoint's ``_CHECKPOINTABLE_OBJECT_GRAPH`` entry describes names, not values, and is
not compared. Values equal bit for bit unless ``atol`` allows a difference.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = tempfile.mkdtemp(); m.save(os.path.join(d, "m.keras"))
    >>> m.save_weights(os.path.join(d, "cp.ckpt"))
    >>> diff(os.path.join(d, "m.keras"), os.path.join(d, "cp.ckpt")).identical
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savepoint.errors import ConfigError
from savepoint.saving.api import contents
from savepoint.saving.api.convert import has_optimizer_state, load_any

FAMILIES = {"tf_checkpoint": "tf", "model_directory": "tf", "tf_saved_model": "tf",
            "keras_weights_h5": "keras3", "keras": "keras3", "safetensors": "keras3",
            "h5_weights": "keras2", "h5": "keras2", "torch_export": "torch_export"}
_KERAS2_MODEL = "model_weights/"


@dataclass(frozen=True)
class Difference:
    """One variable that differs: ``kind`` is ``"missing_in_a"``, ``"missing_in_b"``,
    ``"shape"``, ``"dtype"`` or ``"value"``; ``a``/``b`` describe each side and
    ``max_abs_diff`` is the largest absolute difference of a value change (None for strings).

    Example:
        >>> Difference("w", "value", "float32[2]", "float32[2]", 0.5).max_abs_diff
        0.5
    """

    name: str
    kind: str
    a: str
    b: str
    max_abs_diff: float | None = None


@dataclass(frozen=True)
class DiffReport:
    """What :func:`diff` found: each side's format, how names were matched (``"stored names"``
    or ``"model variables"``), how many variables were compared, the ``differences`` and
    ``notes`` on what was not compared.

    Example:
        >>> DiffReport("a", "b", "keras", "keras", "stored names", 4, []).identical
        True
    """

    a: str
    b: str
    format_a: str
    format_b: str
    compared_as: str
    compared: int
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """No variable differs."""
        return not self.differences


def _stored(path: str) -> tuple[str, dict[str, Any]]:
    spec, values = contents.read_all(path)
    values.pop(contents.OBJECT_GRAPH, None)
    if FAMILIES.get(spec.name) == "keras2":
        values = {n[len(_KERAS2_MODEL):] if n.startswith(_KERAS2_MODEL) else n: v
                  for n, v in values.items()}
    return spec.name, values


def _host(var: Any) -> Any:
    import torch
    tensor = var.value.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return contents.BFloat16Array(tensor.view(torch.int16).numpy().view(np.uint16))
    return tensor.numpy()


def _by_model(path: str, model: Any) -> tuple[str, dict[str, Any], bool]:
    spec, loaded = load_any(path, model, what="compare")
    values = {v.path: _host(v) for v in loaded.weights}
    optimizer = getattr(loaded, "optimizer", None)
    has_state = has_optimizer_state([v.name for v in contents.list_variables(path)])
    if optimizer is not None and optimizer.built and has_state:
        values.update({f"optimizer/{v.path}": _host(v) for v in optimizer.variables})
    return spec.name, values, has_state


def _describe(value: Any) -> str:
    if isinstance(value, (bytes, str)):
        return f"string({len(value)} bytes)"
    return f"{contents.dtype_name(value)}{list(np.shape(contents.raw_bits(value)))}"


def _compare(name: str, a: Any, b: Any, atol: float) -> Difference | None:
    if isinstance(a, (bytes, str)) or isinstance(b, (bytes, str)):
        return None if a == b else Difference(name, "value", _describe(a), _describe(b))
    bits_a, bits_b = np.asarray(contents.raw_bits(a)), np.asarray(contents.raw_bits(b))
    if bits_a.shape != bits_b.shape:
        return Difference(name, "shape", _describe(a), _describe(b))
    if contents.dtype_name(a) != contents.dtype_name(b):
        return Difference(name, "dtype", _describe(a), _describe(b))
    if bits_a.tobytes() == bits_b.tobytes():
        return None
    values_a, values_b = contents.as_numpy(a), contents.as_numpy(b)  # bfloat16 widened
    if values_a.dtype.kind not in "biuf":
        return Difference(name, "value", _describe(a), _describe(b))
    delta = np.abs(values_a.astype(np.float64) - values_b.astype(np.float64))
    if np.isnan(delta).any():  # a NaN on one side only differs by any tolerance
        worst = float("nan")
    else:
        worst = float(delta.max()) if delta.size else 0.0
        if atol > 0 and worst <= atol:
            return None
    return Difference(name, "value", _describe(a), _describe(b), worst)


def compare(a: dict[str, Any], b: dict[str, Any], atol: float = 0.0) -> list[Difference]:
    """The differences between two ``name -> value`` maps, sorted by name.

    Example:
        >>> compare({"w": np.zeros(2)}, {"w": np.ones(2), "x": np.ones(1)})[0].max_abs_diff
        1.0
    """
    found = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            found.append(Difference(name, "missing_in_a", "-", _describe(b[name])))
        elif name not in b:
            found.append(Difference(name, "missing_in_b", _describe(a[name]), "-"))
        else:
            difference = _compare(name, a[name], b[name], atol)
            if difference is not None:
                found.append(difference)
    return found


def diff(a: str, b: str, atol: float = 0.0, model: Any = None) -> DiffReport:
    """The variables of saves ``a`` and ``b`` that differ (see the module docstring).

    Example:
        >>> diff("/nonexistent/a.h5", "/nonexistent/b.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    a, b = os.fspath(a), os.fspath(b)
    if not atol >= 0:
        raise ConfigError(f"Expected atol >= 0. Received {atol!r}. Fix: pass a non-negative "
                          f"tolerance (0 compares bit for bit).")
    spec_a, spec_b = contents.find_format(a), contents.find_format(b)
    if FAMILIES.get(spec_a.name) == FAMILIES.get(spec_b.name):
        (_, values_a), (_, values_b) = _stored(a), _stored(b)
        return DiffReport(a, b, spec_a.name, spec_b.name, "stored names",
                          len(set(values_a) & set(values_b)), compare(values_a, values_b, atol))
    template = model or next((p for p, s in ((a, spec_a), (b, spec_b)) if s.kind == "model"),
                             None)
    if template is None:
        raise ConfigError(
            f"Expected --model CONFIG_OR_MODEL_FILE to compare {a!r} ({spec_a.description}) with "
            f"{b!r} ({spec_b.description}): their formats name variables differently and "
            f"neither holds the architecture that maps one naming onto the other. Received no "
            f"--model. Fix: pass --model model.json (from model.to_json()) or a whole-model save.")
    _, values_a, state_a = _by_model(a, template)
    _, values_b, state_b = _by_model(b, template)
    notes = []
    if state_a and state_b and not any(k.startswith("optimizer/") for k in values_a):
        notes.append("optimizer state not compared: the model given by --model has no "
                     "optimizer (pass a whole-model save to compare it)")
    if state_a != state_b:
        only = a if state_a else b
        notes.append(f"optimizer state not compared: only {only!r} holds it")
        values_a = {k: v for k, v in values_a.items() if not k.startswith("optimizer/")}
        values_b = {k: v for k, v in values_b.items() if not k.startswith("optimizer/")}
    return DiffReport(a, b, spec_a.name, spec_b.name, "model variables",
                      len(set(values_a) & set(values_b)), compare(values_a, values_b, atol),
                      notes)


__all__ = ["DiffReport", "Difference", "FAMILIES", "compare", "diff"]
