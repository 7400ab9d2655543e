"""What ``Layer`` calls on its way: weight-size checks, masks on outputs, eager outputs that
convert to numpy, and the shape helpers of symbolic calls.

Example:
    >>> import torch
    >>> eager_outputs(torch.ones(2, requires_grad=True) * 2).numpy().tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.symbolic import KerasTensor

MAX_WEIGHT_BYTES = 1 << 40  # one weight (1 TiB): past it a size is a typo or a hostile config
MAX_WEIGHT_DIM = (1 << 31) - 1


def _check_weight_size(layer: str, name: str, shape: tuple, dtype: torch.dtype) -> None:
    """Refuse a weight no machine could hold before torch tries to allocate it."""
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * torch.empty((), dtype=dtype).element_size()
    if any(int(d) > MAX_WEIGHT_DIM for d in shape) or nbytes > MAX_WEIGHT_BYTES:
        raise ConfigError(f"Expected weight {name!r} of layer {layer!r} to have dimensions of at "
                          f"most {MAX_WEIGHT_DIM} and at most {MAX_WEIGHT_BYTES} bytes. Received "
                          f"shape {list(shape)} ({nbytes} bytes). Fix: check the layer's sizes "
                          f"(units, filters, input shape).")


def _batch_shape(input_shape, batch_input_shape, kwargs) -> tuple | None:
    if batch_input_shape is not None:
        return backend.shape_tuple(batch_input_shape)
    if input_shape is not None:
        return (kwargs.get("batch_size"),) + backend.shape_tuple(input_shape)
    if kwargs.get("input_dim") is not None:
        return (kwargs.get("batch_size"), int(kwargs["input_dim"]))
    return None


def _attach_mask(outputs: Any, mask: Any) -> None:
    """Record ``mask`` on the output tensor(s) so the next layer's call receives it."""
    if isinstance(outputs, torch.Tensor):
        if mask is not None or getattr(outputs, "_keras_mask", None) is not None:
            outputs._keras_mask = mask  # a fresh tensor: never the caller's input
    elif isinstance(outputs, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(outputs)
        for out, m in zip(outputs, masks):
            _attach_mask(out, m)


class EagerOutput(torch.Tensor):
    """What an outermost eager layer call returns: the same tensor, still attached to autograd
    (so ``loss.backward()`` trains through it), whose ``numpy()`` and ``np.array(...)`` work as
    a tf.keras EagerTensor's do (detached, copied to the host). Operations on it give plain
    tensors, so nothing downstream pays for the subclass.

    Example:
        >>> w = torch.ones(2, requires_grad=True)
        >>> out = (w * 2).as_subclass(EagerOutput)
        >>> out.numpy().tolist(), np.array(out).shape, type(out * 1).__name__
        ([2.0, 2.0], (2,), 'Tensor')
    """

    __torch_function__ = torch._C._disabled_torch_function_impl

    def numpy(self, *, force: bool = False) -> np.ndarray:
        return torch.Tensor.numpy(torch.Tensor.detach(self).cpu())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array.astype(dtype) if dtype is not None else array

    def __repr__(self, **kwargs: Any) -> str:
        return repr(self.as_subclass(torch.Tensor))


def eager_outputs(outputs: Any) -> Any:
    """Outputs of an outermost call with each grad-tracking or device tensor as an
    ``EagerOutput`` (others unchanged: they already convert to numpy).

    Example:
        >>> type(eager_outputs(torch.ones(1, requires_grad=True) * 1)).__name__
        'EagerOutput'
    """
    if isinstance(outputs, torch.Tensor):
        if type(outputs) is not torch.Tensor or not (
                outputs.requires_grad or outputs.device.type != "cpu"):
            return outputs
        wrapped = outputs.as_subclass(EagerOutput)
        mask = getattr(outputs, "_keras_mask", None)
        if mask is not None:
            wrapped._keras_mask = mask
        return wrapped
    if isinstance(outputs, (list, tuple)) and not hasattr(outputs, "_fields"):
        return type(outputs)(eager_outputs(o) for o in outputs)
    if isinstance(outputs, dict):
        return {k: eager_outputs(v) for k, v in outputs.items()}
    return outputs


def _takes_strings(layer: Layer) -> bool:
    """Whether ``layer`` is a model with a ``dtype="string"`` input."""
    try:
        inputs = getattr(layer, "inputs", None) or []
    except Exception:  # an unbuilt subclassed model: no declared inputs
        return False
    return any(getattr(t, "dtype", None) == "string" for t in inputs)


def _is_index_layer(layer: Layer) -> bool:
    return not layer._autocast_inputs


def _dedup(items: list) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _shapes_to_tensors(shapes: Any, dtype: str) -> Any:
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return KerasTensor(shapes, dtype=dtype)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_shapes_to_tensors(s, dtype) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _shapes_to_tensors(v, dtype) for k, v in shapes.items()}
    return KerasTensor(tuple(shapes), dtype=dtype)


def _merge_trial_shapes(a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        dims = [None if i == 0 or da != db else da
                for i, (da, db) in enumerate(zip(a.shape, b.shape))]
        return tuple(dims)
    if isinstance(a, (list, tuple)):
        return type(a)(_merge_trial_shapes(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _merge_trial_shapes(a[k], b[k]) for k in a}
    raise ShapeError(f"Expected a layer to return tensors. Received {type(a).__name__}.")
