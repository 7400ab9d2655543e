"""``TFOpLambda`` and ``SlicingOpLambda``: one whitelisted TF function call in a functional graph.

tf.keras 2 turns ``x + 3.0``, ``tf.nn.relu6(x)`` or ``x[:, 0]`` on symbolic tensors into these
layers, named ``tf.<function>`` and configured by ``function`` alone; the call's other arguments
(constants or tensors) are recorded in the graph node. savepoint builds the same layers from its
own symbolic tensors (``savepoint.layers.symbolic``), so they save back as tf.keras writes them.

Example:
    >>> import torch
    >>> TFOpLambda("math.multiply")(torch.ones(2), y=2.0).tolist()
    [2.0, 2.0]
    >>> SlicingOpLambda("__operators__.getitem")(
    ...     torch.arange(6.).reshape(2, 3), slice_spec=[{"start": None, "stop": None,
    ...     "step": None}, 0]).tolist()
    [0.0, 3.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from savepoint import backend
from savepoint.errors import ConfigError, UnknownObjectError
from savepoint.layers.base import Layer
from savepoint.layers.symbolic import (KerasTensor, is_symbolic, map_structure,
                                       placeholder_like, symbolic_like)
from savepoint.layers.tf_op.ops import OPS, index_from_spec
from savepoint.serialization import builtin

GETITEM = "__operators__.getitem"


@builtin("layers")
class TFOpLambda(Layer):
    """A call of the whitelisted TF function ``function`` (``"math.multiply"``) as a layer.

    Args:
        function: the TF API name, as tf.keras 2 records it (without ``tf.``).
        name: the layer name; ``tf.<function>`` (made unique) by default.

    Example:
        >>> import torch
        >>> TFOpLambda("nn.relu6")(torch.tensor([-1.0, 7.0])).tolist()
        [0.0, 6.0]
    """

    _autocast_inputs = False

    def __init__(self, function: str, name: str | None = None, **kwargs: Any):
        if not isinstance(function, str) or function not in OPS:
            raise UnknownObjectError(
                f"Unknown TF op {function!r} in a {type(self).__name__} layer: savepoint runs "
                f"only a whitelist of TF functions. Expected one of {sorted(OPS)}. Fix: rebuild "
                f"the model with a supported op, or replace it by a custom layer passed in "
                f"custom_objects.")
        super().__init__(name=name or backend.unique_name(f"tf.{function}"), **kwargs)
        self.function = function
        self._op = OPS[function]
        self.built = True  # no weights: nothing to build

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self._op(*args, **kwargs)

    def _keras_call(self, *args: Any, **kwargs: Any) -> Any:
        # The op's tensors may sit in any argument (``2.0 - x`` puts the constant first).
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if is_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        return self.call(*args, **kwargs)

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        from savepoint.layers.symbolic import Node, flatten
        # Constants are recorded in the node config, so they must be JSON: tf.keras writes an
        # array constant (``x @ np.ones(...)``) as nested lists too.
        args, kwargs = map_structure(_plain, args), map_structure(_plain, kwargs)
        outputs = self._infer_outputs(args, kwargs)
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        for i, t in enumerate(flatten(outputs)):
            t._history = (self, len(self._inbound_nodes) - 1, i)
        return outputs

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        """Two trial runs on small placeholders (batch 2 and 3): dimensions that differ are
        ``None``, like the batch."""
        runs = []
        for size in (2, 3):
            def fill(t: Any, size: int = size) -> Any:
                if not isinstance(t, KerasTensor):
                    return t
                shape = tuple(size if d is None else d for d in t.shape)
                return torch.ones(shape, dtype=placeholder_like(t).dtype)  # keeps int dtypes
            with torch.no_grad():
                runs.append(self.call(*map_structure(fill, args),
                                      **map_structure(fill, kwargs)))
        a, b = runs
        if not isinstance(a, torch.Tensor):
            raise ConfigError(f"Expected TF op '{self.function}' to return one tensor. Received "
                              f"{type(a).__name__}.")
        shape = tuple(None if da != db else da for da, db in zip(a.shape, b.shape))
        out = symbolic_like(a, like_batch_none=False)
        out.shape = shape
        return out

    def get_config(self) -> dict:
        """tf.keras 2's config: ``name``, ``trainable``, ``dtype`` and ``function``."""
        return {**super().get_config(), "function": self.function}


@builtin("layers")
class SlicingOpLambda(TFOpLambda):
    """``tensor[slice_spec]`` as a layer; ``slice_spec`` is tf.keras's JSON form: ``{"start",
    "stop", "step"}`` for a slice, ``{"class_name": "__ellipsis__"}``, ``None`` for
    ``newaxis``, or an int -- one item or a list.

    Example:
        >>> import torch
        >>> SlicingOpLambda("__operators__.getitem")(
        ...     torch.arange(4.), slice_spec={"start": 1, "stop": None, "step": 2}).tolist()
        [1.0, 3.0]
    """

    def __init__(self, function: str = GETITEM, name: str | None = None, **kwargs: Any):
        if function != GETITEM:
            raise UnknownObjectError(f"Expected SlicingOpLambda's function to be '{GETITEM}'. "
                                     f"Received {function!r}.")
        super().__init__(function, name=name, **kwargs)

    def call(self, tensor: Any, slice_spec: Any, var: Any = None) -> Any:
        return self._op(tensor, slice_spec)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic, torch.Tensor)):
        return value.tolist()
    return value


def spec_from_index(index: Any) -> Any:
    """A Python index (``x[:, 1:3, ..., None, 0]``) in tf.keras's JSON ``slice_spec`` form.

    Example:
        >>> spec_from_index((slice(None, 2), 0))
        [{'start': None, 'stop': 2, 'step': None}, 0]
    """
    if isinstance(index, tuple):
        return [spec_from_index(i) for i in index]
    if isinstance(index, slice):
        parts = [index.start, index.stop, index.step]
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            raise ConfigError(f"Expected slice bounds as ints or None on a symbolic tensor. "
                              f"Received {index!r}. Fix: use a Lambda layer for tensor bounds.")
        spec = dict(zip(("start", "stop", "step"), parts))
        index_from_spec(spec)  # refuse negative steps now, not when the model runs
        return spec
    if index is Ellipsis:
        return {"class_name": "__ellipsis__"}
    if index is None or (isinstance(index, int) and not isinstance(index, bool)):
        return index
    raise ConfigError(f"Expected an index of ints, slices, None and ... on a symbolic tensor. "
                      f"Received {index!r} of type {type(index).__name__}.")
