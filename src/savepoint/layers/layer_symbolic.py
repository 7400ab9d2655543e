"""A layer called on symbolic inputs: building from their shapes, inferring the output
KerasTensors, recording the call as a graph node, and the node accessors (``input``, ``output``,
``output_shape``) that functional models read (the ``Layer`` base class mixes this in).

Example:
    >>> import savepoint as keras
    >>> x = keras.Input((3,))
    >>> d = keras.layers.Dense(2); y = d(x)
    >>> d.output_shape, d.input is x, len(d._inbound_nodes)
    ((None, 2), True, 1)
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.errors import NotBuiltError
from savepoint.layers.layer_helpers import _merge_trial_shapes, _shapes_to_tensors
from savepoint.layers.symbolic import KerasTensor, Node, flatten, map_structure


class SymbolicCallMixin:
    """The symbolic half of ``Layer.__call__`` and the graph accessors."""

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        inputs = args[0] if args else kwargs["inputs"]
        if not self.built:
            self.build(map_structure(lambda t: t.shape, inputs))
            self.built = True
            self._set_initial_weights()
        outputs = self._infer_outputs(args, kwargs)
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        for i, t in enumerate(flatten(outputs)):
            t._history = (self, len(self._inbound_nodes) - 1, i)
        return outputs

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        """Output KerasTensors, from ``compute_output_shape`` or two small trial runs whose
        differing dimensions become ``None``."""
        inputs = args[0] if args else kwargs["inputs"]
        try:
            shapes = self.compute_output_shape(map_structure(lambda t: t.shape, inputs))
        except NotImplementedError:
            shapes = self._trial_output_shapes(args, kwargs)
        out_dtype = self.compute_dtype if self._autocast_inputs else flatten(inputs)[0].dtype
        return _shapes_to_tensors(shapes, out_dtype)

    def _trial_output_shapes(self, args: tuple, kwargs: dict) -> Any:
        runs = []
        for size in (2, 3):
            def fill(t, size=size):
                if not isinstance(t, KerasTensor):
                    return t
                shape = tuple(size if d is None else d for d in t.shape)
                dtype = torch.long if t.dtype.startswith("int") else backend.torch_dtype(t.dtype)
                return torch.zeros(shape, dtype=dtype, device=self._device())
            a, k = map_structure(fill, args), map_structure(fill, kwargs)
            with torch.no_grad():
                runs.append(self.__call__(*a, **{**k, "training": False}))
        return map_structure(lambda t: t, _merge_trial_shapes(*runs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Override for speed; the default infers the shape by running the layer on zeros."""
        raise NotImplementedError

    # ----- graph accessors (functional models) ---------------------------------------------
    @property
    def output(self) -> Any:
        return self._node_attr("outputs")

    @property
    def input(self) -> Any:
        node_args = self._node_attr("args")
        return node_args[0] if isinstance(node_args, tuple) and node_args else node_args

    def _node_attr(self, attr: str) -> Any:
        if not self._inbound_nodes:
            raise NotBuiltError(f"Layer '{self.name}' has never been called on a symbolic input, "
                                f"so it has no {attr[:-1] if attr.endswith('s') else attr}.")
        return getattr(self._inbound_nodes[0], attr)

    @property
    def output_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self.output)



__all__ = ["SymbolicCallMixin"]
