"""The safetensors weights handler: ``save_weights("w.safetensors")`` and its ``load_weights``.

Keys follow Keras 3's naming of a model's objects, the paths of its ``.weights.h5`` datasets
(``layers/dense/vars/0``; the optimizer at ``optimizer/vars/0`` = iteration, ``1`` = the
learning rate unless it is a schedule, then its slots),
so a file reads the same way in both and the ``safetensors`` library opens it
(``safetensors.numpy.load_file``). Every tensor carries a CRC-32C (``formats.safetensors``).
Loading validates every key, shape and dtype before assigning anything.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> save(m, path); sorted(safetensors.read(path)[0])
    ['layers/dense/vars/0', 'layers/dense/vars/1']
    >>> load(m, path)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, FormatError, ShapeError
from savepoint.saving import registry, storage
from savepoint.saving.engine import frozen
from savepoint.saving.formats import safetensors
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
from savepoint.saving.handlers import verification
from savepoint.saving.handlers.h5_weights import (_has_lr_variable, _join, _keras3_nodes,
                                                  _LearningRate, file_loader)

OPTIMIZER = "optimizer/vars"


def _host(var: Any) -> Any:
    if isinstance(var, _LearningRate):
        return np.asarray(var.optimizer.learning_rate, dtype=np.float32)
    tensor = frozen.value(var).detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return BFloat16Array(tensor.view(torch.int16).numpy().view(np.uint16))
    return tensor.numpy()


def _named_variables(model: Any) -> dict[str, Any]:
    """Keras 3 key -> variable, model weights then the built optimizer's variables."""
    named = {}
    for node_path, _, own in _keras3_nodes(model):
        for i, var in enumerate(own):
            named[_join(node_path, "vars", str(i))] = var
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables = list(optimizer.variables)
        if _has_lr_variable(optimizer):  # Keras 3 keeps it second, as a variable
            variables.insert(1, _LearningRate(optimizer))
        for i, var in enumerate(variables):
            named[f"{OPTIMIZER}/{i}"] = var
    return named


def save(model: Any, path: str) -> None:
    """Write the model's weights (and its built optimizer's state) at ``path``.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save(m, os.path.join(tempfile.mkdtemp(), "w.safetensors"))
    """
    arrays = {key: _host(var) for key, var in _named_variables(model).items()}
    safetensors.write(path, arrays, {"format": "np", "savepoint.layout": "keras3"})


def load(model: Any, path: str, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Assign the file's tensors to the model's variables by Keras 3 key, all checked first.

    Example:
        >>> load(None, "/x.safetensors", by_name=True)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.ConfigError: ...
    """
    if by_name:
        raise ConfigError(f"by_name=True is not supported for safetensors files such as "
                          f"{path!r}: their keys name each variable by its place in the model "
                          f"(Keras 3's naming). Fix: drop by_name.")
    arrays, _ = safetensors.read(path)
    named = _named_variables(model)
    arrays, deferred = _split_unbuilt_optimizer(model, named, arrays)
    missing = sorted(set(named) - set(arrays))
    unexpected = sorted(set(arrays) - set(named))
    if missing or unexpected:
        raise FormatError(f"Safetensors file {path!r} does not match model '{model.name}': "
                          f"expected keys {missing[:5]} are missing, and {unexpected[:5]} are "
                          f"not in the model. Fix: load a file saved from this architecture.")
    plan = [(var, arrays[key], key) for key, var in named.items()]
    plan = [p for p in plan if _fits(p, path, skip_mismatch)]
    values = [_to_tensor(array, var) for var, array, _ in plan]
    for (var, _, _), value in zip(plan, values):
        var.assign(value)
    if deferred:
        model.optimizer._defer_restore(deferred)


def _split_unbuilt_optimizer(model: Any, named: dict, arrays: dict) -> tuple[dict, dict]:
    """Without a built optimizer the file's slots wait for its first step (as tf.keras restores
    them lazily) and its iteration is assigned now; without any optimizer they are dropped."""
    stored = {k: v for k, v in arrays.items() if k.startswith(OPTIMIZER + "/")}
    if not stored or any(k.startswith(OPTIMIZER + "/") for k in named):
        return arrays, {}
    weights = {k: v for k, v in arrays.items() if k not in stored}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return weights, {}
    head = 2 if _has_lr_variable(optimizer) else 1
    deferred = {int(k.rsplit("/", 1)[1]) - head + 1: np.array(v) for k, v in stored.items()
                if int(k.rsplit("/", 1)[1]) >= head}
    optimizer._check_deferred(deferred)
    now = {f"{OPTIMIZER}/0": optimizer.variables[0]}
    if head == 2:
        now[f"{OPTIMIZER}/1"] = _LearningRate(optimizer)
    for key, var in now.items():
        if key in stored:
            named[key], weights[key] = var, stored[key]
    return weights, deferred


def _fits(entry: tuple, path: str, skip_mismatch: bool) -> bool:
    var, array, key = entry
    if tuple(array.shape) == tuple(var.shape):
        return True
    if skip_mismatch:
        return False
    raise ShapeError(f"Safetensors file {path!r}: tensor {key!r} has shape {tuple(array.shape)}; "
                     f"expected {tuple(var.shape)} for variable '{var.path}'. Fix: load a file "
                     f"saved from this architecture, or pass skip_mismatch=True.")


def _to_tensor(array: Any, var: Any) -> Any:
    if isinstance(var, _LearningRate):
        return np.float32(array)
    if isinstance(array, BFloat16Array):
        return torch.from_numpy(array.bits.copy()).view(torch.bfloat16).to(var.value.dtype)
    return torch.from_numpy(np.array(array)).to(var.value.dtype)


def verify(path: str) -> Any:
    """Read every tensor (each CRC-32C checked) and report what was checked.

    Example:
        >>> verify("/nonexistent.safetensors")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    arrays, _ = safetensors.read(path)
    total = sum((a.bits if isinstance(a, BFloat16Array) else a).nbytes for a in arrays.values())
    return verification.VerifyReport(path, "safetensors", len(arrays), total)


registry.register(registry.FormatSpec(
    name="safetensors", kind="weights", suffixes=(".safetensors",), example="w.safetensors",
    save=save,
    load=file_loader(load), verify=verify, delete=storage.remove, present=storage.exists,
    aliases=("safetensors",), description="'.safetensors'"))

__all__ = ["load", "save", "verify"]
