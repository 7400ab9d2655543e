"""``InferenceModel``: what ``load_model`` returns when a model directory's class is missing --
its exported program, with ``predict``/``__call__`` and nothing to train.

Example:
    >>> import savepoint as keras, numpy as np, torch
    >>> fn = lambda x: x * 2
    >>> m = InferenceModel(fn, [{"name": "x", "shape": [None, 2], "dtype": "float32"}], None, "m")
    >>> m.predict(np.ones((3, 2)), verbose=0).tolist()
    [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.utils.structure import concat_batches


class InferenceModel:
    """A model restored without its Python class: ``predict`` and ``__call__`` only.

    ``inputs`` lists each input's ``name``, ``shape`` (batch dimension ``None``) and ``dtype``;
    ``structure`` is ``None`` (one tensor), ``{"list": n}`` or ``{"keys": [...]}``.

    Example:
        >>> spec = [{"name": "x", "shape": [None], "dtype": "float32"}]
        >>> m = InferenceModel(lambda x: x + 1, spec, None, "tiny")
        >>> m(np.zeros(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, module: Callable, inputs: list[dict], structure: Any, name: str,
                 missing_class: str | None = None):
        self._module, self.input_spec, self._structure = module, inputs, structure
        self.name, self.missing_class = name, missing_class
        self.compiled, self.optimizer = False, None

    def __call__(self, x: Any, training: bool = False) -> Any:
        """Run the program on one batch; returns torch tensors (same structure as the model)."""
        if training:
            raise ConfigError(f"Model '{self.name}' was loaded for inference only (class "
                              f"{self.missing_class!r} is not available): it cannot run with "
                              f"training=True. Fix: load it with custom_objects providing the "
                              f"class.")
        flat = self._flat_inputs(x)
        with torch.no_grad():
            return self._module(*flat)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: list | None = None) -> Any:
        """Outputs for ``x`` as numpy arrays, computed ``batch_size`` (default 32) rows at a time.

        Example:
            >>> m = InferenceModel(lambda x: x * 0, [{"name": "x", "shape": [None, 1],
            ...                    "dtype": "float32"}], None, "zero")
            >>> m.predict(np.ones((40, 1)), verbose=0).shape
            (40, 1)
        """
        flat = self._flat_inputs(x)
        n = flat[0].shape[0]
        size = int(batch_size or 32)
        if size <= 0:
            raise ConfigError(f"Expected a positive batch_size. Received {batch_size!r}.")
        outputs = []
        with torch.no_grad():
            for start in range(0, n, size):
                outputs.append(self._module(*[t[start:start + size] for t in flat]))
        if not outputs:
            raise ConfigError("predict() received no data: the input is empty.")
        return concat_batches(outputs)

    def _flat_inputs(self, x: Any) -> list[torch.Tensor]:
        if self._structure is None:
            values = [x]
        elif "keys" in self._structure:
            if not isinstance(x, dict) or set(x) != set(self._structure["keys"]):
                raise ShapeError(f"Model '{self.name}' expects a dict with keys "
                                 f"{self._structure['keys']}. Received {type(x).__name__}.")
            values = [x[k] for k in self._structure["keys"]]
        else:
            values = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(values) != len(self.input_spec):
            raise ShapeError(f"Model '{self.name}' expects {len(self.input_spec)} input(s). "
                             f"Received {len(values)}.")
        flat = [_tensor(v, spec) for v, spec in zip(values, self.input_spec)]
        for t, spec in zip(flat, self.input_spec):
            _check_shape(t, spec, self.name)
        if len({t.shape[0] for t in flat}) > 1:
            raise ShapeError(f"Model '{self.name}' expects inputs with the same number of rows. "
                             f"Received {[t.shape[0] for t in flat]}.")
        return flat

    def compile(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError(self._why_not("compile"))

    def fit(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError(self._why_not("fit"))

    def evaluate(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError(self._why_not("evaluate"))

    def _why_not(self, what: str) -> str:
        return (f"Model '{self.name}' was loaded for inference only because its class "
                f"{self.missing_class!r} could not be resolved, so {what}() is unavailable. Fix: "
                f"pass custom_objects={{'{self.missing_class}': {self.missing_class}}} (or "
                f"register the class) to load_model to get the full model.")

    def __repr__(self) -> str:
        return f"<InferenceModel '{self.name}' inputs={[s['shape'] for s in self.input_spec]}>"


def _tensor(value: Any, spec: dict) -> torch.Tensor:
    dtype = getattr(torch, spec["dtype"])
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype)


def _check_shape(t: torch.Tensor, spec: dict, name: str) -> None:
    expected = spec["shape"]
    ok = t.dim() == len(expected) and all(e is None or e == d for e, d in
                                          zip(expected, t.shape))
    if not ok:
        raise ShapeError(f"Input '{spec['name']}' of model '{name}' expected shape "
                         f"{tuple(expected)}. Received {tuple(t.shape)}.")


__all__ = ["InferenceModel"]
