"""Symbolic tensors and graph nodes: what calling a layer on ``Input(...)`` records."""

from __future__ import annotations

from typing import Any

import torch

from savepoint.backend import shape_tuple, unique_name


class KerasTensor:
    """A placeholder with a shape (batch dimension ``None``) that remembers which layer made it.

    Example:
        >>> x = KerasTensor((None, 784), name="input_1")
        >>> x.shape
        (None, 784)
    """

    def __init__(self, shape: tuple, dtype: str = "float32", name: str | None = None,
                 history: tuple | None = None):
        self.shape = shape_tuple(shape)
        self.dtype = dtype
        self.name = name
        self._history = history  # (layer, node_index, tensor_index)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} dtype={self.dtype} name={self.name}>"


class Node:
    """One call of a layer in a graph: its input structure and the tensors it produced."""

    def __init__(self, layer: Any, args: tuple, kwargs: dict, outputs: Any):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.input_tensors = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]


def flatten(structure: Any) -> list:
    """Leaves of nested lists, tuples and dicts (dicts in key order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn, structure: Any) -> Any:
    """Apply ``fn`` to every leaf, keeping the nesting."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(structure: Any) -> bool:
    return any(isinstance(t, KerasTensor) for t in flatten(structure))


def placeholder_like(t: KerasTensor) -> torch.Tensor:
    """A small zero tensor standing in for ``t`` while inferring output shapes (None -> 1)."""
    from savepoint.backend import torch_dtype
    shape = tuple(2 if d is None else d for d in t.shape)
    return torch.zeros(shape, dtype=torch_dtype(t.dtype))


def symbolic_like(value: torch.Tensor, like_batch_none: bool = True) -> KerasTensor:
    shape = tuple(value.shape)
    if like_batch_none and shape:
        shape = (None,) + shape[1:]
    return KerasTensor(shape, dtype=str(value.dtype).replace("torch.", ""))


def new_input_name() -> str:
    return unique_name("input")
