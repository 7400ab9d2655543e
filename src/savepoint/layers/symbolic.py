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

    # Arithmetic and slicing record TF-op layers, as tf.keras 2 does (``x * (1/6)`` becomes a
    # ``tf.math.multiply`` TFOpLambda); a constant on the left is the op's first argument.
    def __add__(self, other): return tf_op("__operators__.add", self, y=other)
    def __radd__(self, other): return tf_op("__operators__.add", other, y=self)
    def __sub__(self, other): return tf_op("math.subtract", self, y=other)
    def __rsub__(self, other): return tf_op("math.subtract", other, y=self)
    def __mul__(self, other): return tf_op("math.multiply", self, y=other)
    def __rmul__(self, other): return tf_op("math.multiply", other, y=self)
    def __truediv__(self, other): return tf_op("math.truediv", self, y=other)
    def __rtruediv__(self, other): return tf_op("math.truediv", other, y=self)
    def __floordiv__(self, other): return tf_op("compat.v1.floor_div", self, y=other)
    def __rfloordiv__(self, other): return tf_op("compat.v1.floor_div", other, y=self)
    def __mod__(self, other): return tf_op("math.floormod", self, y=other)
    def __rmod__(self, other): return tf_op("math.floormod", other, y=self)
    def __pow__(self, other): return tf_op("math.pow", self, y=other)
    def __rpow__(self, other): return tf_op("math.pow", other, y=self)
    def __matmul__(self, other): return tf_op("linalg.matmul", self, b=other)
    def __rmatmul__(self, other): return tf_op("linalg.matmul", other, b=self)
    def __neg__(self): return tf_op("math.negative", self)
    def __abs__(self): return tf_op("math.abs", self)
    def __gt__(self, other): return tf_op("math.greater", self, y=other)
    def __ge__(self, other): return tf_op("math.greater_equal", self, y=other)
    def __lt__(self, other): return tf_op("math.less", self, y=other)
    def __le__(self, other): return tf_op("math.less_equal", self, y=other)
    # ``==``/``!=`` stay identity comparisons: graphs use KerasTensors in sets and dicts.
    __hash__ = object.__hash__
    # ``np.ones(3) * x``: numpy defers to our reflected operators instead of looping over x
    __array_ufunc__ = None

    def __getitem__(self, index: Any) -> "KerasTensor":
        from savepoint.layers.tf_op.layer import SlicingOpLambda, spec_from_index
        return SlicingOpLambda()(self, slice_spec=spec_from_index(index))

    def __iter__(self):
        # Without this, ``__getitem__`` would make ``list(x)`` loop forever.
        raise TypeError(f"Iterating over a symbolic tensor is not supported: {self!r}. Index "
                        f"it (x[:, 0]) or use a layer instead.")


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


def tf_op(function: str, *args: Any, **kwargs: Any) -> Any:
    """Call the whitelisted TF op ``function`` as a new ``TFOpLambda`` layer.

    Example:
        >>> x = KerasTensor((None, 3)); x._history = None
        >>> tf_op("nn.relu6", torch.ones(1, 3)).tolist()
        [[1.0, 1.0, 1.0]]
    """
    from savepoint.layers.tf_op.layer import TFOpLambda
    return TFOpLambda(function)(*args, **kwargs)


def new_input_name() -> str:
    return unique_name("input")
