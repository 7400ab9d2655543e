"""Capture and restore every global random number generator as named arrays (no pickle).

A resumable checkpoint must hold the state of each generator training draws from: Python's
``random``, numpy's global ``RandomState``, torch's CPU generator and the generator of every CUDA
device. :func:`capture` returns them as ``{name: numpy array}`` (ready for a tensor bundle) and
:func:`restore` puts them back, so the next draws are exactly those of the uninterrupted run.

Names (``RNG_KEYS`` plus one ``torch/cuda_<i>`` per CUDA device):

- ``python/state`` uint32[625] (Mersenne Twister words + index), ``python/gauss_next`` float64[2]
  (``[has_value, value]``);
- ``numpy/keys`` uint32[624], ``numpy/pos`` int64, ``numpy/has_gauss`` int64,
  ``numpy/cached_gaussian`` float64;
- ``torch/cpu`` uint8[N] (``torch.get_rng_state()``), ``torch/cuda_<i>`` uint8[M].

CUDA states are captured only once CUDA is initialized (before that, the CUDA generators still
hold their seed and nothing has drawn from them), so capturing never starts a CUDA context.

Example:
    >>> import random
    >>> states = capture()
    >>> a = random.random(); restore(states); b = random.random()
    >>> a == b
    True
"""

from __future__ import annotations

import random
import warnings
from typing import Mapping

import numpy as np
import torch

from savepoint.errors import FormatError

RNG_KEYS = ("python/state", "python/gauss_next", "numpy/keys", "numpy/pos", "numpy/has_gauss",
            "numpy/cached_gaussian", "torch/cpu")
_CUDA_PREFIX = "torch/cuda_"


def capture() -> dict[str, np.ndarray]:
    """Every global generator's state as named numpy arrays (see the module docstring).

    Example:
        >>> sorted(capture())[:2]
        ['numpy/cached_gaussian', 'numpy/has_gauss']
    """
    version, words, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "python/state": np.asarray(words, dtype=np.uint32),
        "python/gauss_next": np.array([gauss is not None, gauss or 0.0], dtype=np.float64),
        "numpy/keys": np.asarray(keys, dtype=np.uint32).copy(),
        "numpy/pos": np.asarray(pos, dtype=np.int64),
        "numpy/has_gauss": np.asarray(has_gauss, dtype=np.int64),
        "numpy/cached_gaussian": np.asarray(cached, dtype=np.float64),
        "torch/cpu": torch.get_rng_state().numpy(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i in range(torch.cuda.device_count()):
            states[f"{_CUDA_PREFIX}{i}"] = torch.cuda.get_rng_state(i).numpy()
    return states


def restore(states: Mapping[str, np.ndarray]) -> None:
    """Put back the generators captured by :func:`capture`; validates everything first.

    A missing or malformed entry raises ``FormatError`` before any generator changes. CUDA
    states for devices this machine lacks are skipped with a warning (the resumed run cannot be
    bitwise identical then).

    Example:
        >>> import numpy as np
        >>> s = capture(); x = np.random.rand(); restore(s); x == np.random.rand()
        True
    """
    missing = [k for k in RNG_KEYS if k not in states]
    if missing:
        raise FormatError(f"Expected random generator states {list(RNG_KEYS)}. Received states "
                          f"without {missing}. Fix: restore from a checkpoint written by "
                          f"savepoint.utils.rng.capture() (BackupAndRestore).")
    py_state = _checked(states, "python/state", np.uint32, (625,))
    gauss = _checked(states, "python/gauss_next", np.float64, (2,))
    np_keys = _checked(states, "numpy/keys", np.uint32, (624,))
    scalars = {k: _checked(states, k, dt, ()) for k, dt in (
        ("numpy/pos", np.int64), ("numpy/has_gauss", np.int64),
        ("numpy/cached_gaussian", np.float64))}
    cpu = _checked(states, "torch/cpu", np.uint8, (int(torch.get_rng_state().numel()),))
    random.setstate((3, tuple(int(w) for w in py_state),
                     float(gauss[1]) if gauss[0] else None))
    np.random.set_state(("MT19937", np_keys, int(scalars["numpy/pos"]),
                         int(scalars["numpy/has_gauss"]),
                         float(scalars["numpy/cached_gaussian"])))
    torch.set_rng_state(torch.from_numpy(np.array(cpu, copy=True)))
    _restore_cuda(states)


def _checked(states: Mapping[str, np.ndarray], key: str, dtype: type,
             shape: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(states[key])
    if value.dtype != np.dtype(dtype) or value.shape != shape:
        raise FormatError(f"Random generator state {key!r}: expected {np.dtype(dtype).name} "
                          f"{shape}, received {value.dtype.name} {value.shape}. Fix: restore "
                          f"from a checkpoint written by savepoint.utils.rng.capture().")
    return value


def _restore_cuda(states: Mapping[str, np.ndarray]) -> None:
    saved = sorted((int(k[len(_CUDA_PREFIX):]), k) for k in states if k.startswith(_CUDA_PREFIX))
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index, key in saved:
        if index >= available:
            warnings.warn(f"The checkpoint holds the random state of CUDA device {index}, which "
                          f"this machine does not have ({available} device(s)); it is skipped, "
                          f"so the resumed run will not repeat the original exactly.",
                          stacklevel=3)
            continue
        value = np.asarray(states[key])
        if value.dtype != np.uint8 or value.ndim != 1:
            raise FormatError(f"Random generator state {key!r}: expected a uint8 vector, "
                              f"received {value.dtype.name} {value.shape}.")
        torch.cuda.set_rng_state(torch.from_numpy(np.array(value, copy=True)), index)


def capture_layers(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The state of each seeded layer's own generator (``layer._generator``, e.g.
    ``RandomFlip(seed=1)``) in ``model``, keyed by module path with ``/`` separators.

    Example:
        >>> import savepoint as keras
        >>> model = keras.Sequential([keras.layers.RandomFlip(seed=1)])
        >>> list(capture_layers(model))
        ['_stack/0']
    """
    return {name.replace(".", "/"): generator.get_state().numpy()
            for name, generator in _layer_generators(model).items()}


def restore_layers(model: torch.nn.Module, states: Mapping[str, np.ndarray]) -> None:
    """Put back what :func:`capture_layers` captured; validates everything first. A seeded
    layer the states lack (a backup written before the layer had its own generator) keeps its
    state, with a warning: the resumed run cannot repeat the original exactly then.

    Example:
        >>> import savepoint as keras, numpy as np
        >>> model = keras.Sequential([keras.layers.RandomFlip(seed=1)])
        >>> s = capture_layers(model); a = model(np.ones((1, 2, 2, 1)), training=True)
        >>> restore_layers(model, s)
        >>> bool((model(np.ones((1, 2, 2, 1)), training=True) == a).all())
        True
    """
    generators = _layer_generators(model)
    checked = {}
    for name, generator in generators.items():
        key = name.replace(".", "/")
        if key not in states:
            warnings.warn(f"The checkpoint holds no random generator state for the seeded "
                          f"layer {key!r}; it keeps its current state, so the resumed run will "
                          f"not repeat the original exactly.", stacklevel=2)
            continue
        size = int(generator.get_state().numel())
        checked[name] = _checked(states, key, np.uint8, (size,))
    for name, value in checked.items():
        generators[name].set_state(torch.from_numpy(np.array(value, copy=True)))


def _layer_generators(model: torch.nn.Module) -> dict[str, torch.Generator]:
    found = {}
    for name, module in model.named_modules():
        generator = module.__dict__.get("_generator")
        if isinstance(generator, torch.Generator):
            found[name] = generator
    return found


__all__ = ["RNG_KEYS", "capture", "capture_layers", "restore", "restore_layers"]
