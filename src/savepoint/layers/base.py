"""``Layer``: the Keras layer contract (build on first call, named weights, configs) on nn.Module."""

from __future__ import annotations

import contextlib
import inspect
import threading
from typing import Any, Iterator

import numpy as np
import torch

from savepoint import backend
from savepoint.errors import ConfigError, NotBuiltError, ShapeError
from savepoint.layers import initializers
from savepoint.layers.symbolic import (KerasTensor, Node, flatten, is_symbolic, map_structure,
                                       placeholder_like)
from savepoint.layers.variable import Variable

_CALL_CONTEXT = threading.local()
# Keyword arguments tf.keras 2.x code passes that have no effect here but must be accepted.
_ACCEPTED_LEGACY_KWARGS = {"autocast", "dynamic", "input_dim", "batch_size", "weights",
                           "activity_regularizer"}


@contextlib.contextmanager
def skip_initializers() -> Iterator[None]:
    """Create weights uninitialized inside the block: loaders that assign every weight (and
    discard the model if any is missing) skip running initializers they would overwrite.

    Example:
        >>> with skip_initializers():
        ...     pass
    """
    previous = getattr(_CALL_CONTEXT, "skip_init", False)
    _CALL_CONTEXT.skip_init = True
    try:
        yield
    finally:
        _CALL_CONTEXT.skip_init = previous


class Layer(torch.nn.Module):
    """Base class of every layer: subclasses define ``build(input_shape)`` and ``call(inputs)``.

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.w
        >>> Scale()(np.ones((2, 3), "float32")).shape
        torch.Size([2, 3])
    """

    _call_has_training = False
    _call_has_mask = False
    _autocast_inputs = True
    # Keras's mask contract: a layer that passes its input's mask on unchanged sets this.
    supports_masking = False
    _computes_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.call).parameters
        cls._call_has_training = "training" in params
        cls._call_has_mask = "mask" in params
        cls._computes_mask = cls.compute_mask is not Layer.compute_mask

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: tuple | None = None, batch_input_shape: tuple | None = None,
                 **kwargs: Any):
        super().__init__()
        unknown = set(kwargs) - _ACCEPTED_LEGACY_KWARGS
        if unknown:
            raise ConfigError(f"Keyword argument(s) not understood by {type(self).__name__}: "
                              f"{sorted(unknown)}. Remove them or check their spelling.")
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name", backend.floatx())
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = str(dtype or backend.floatx()).replace("torch.", "")
        self._torch_dtype = backend.torch_dtype(self.dtype)
        self._variables: list[Variable] = []
        self._regularizers: list[tuple[Variable, Any]] = []
        self._own_losses: list[torch.Tensor] = []
        self._inbound_nodes: list[Node] = []
        self.built = False
        self._batch_input_shape = _batch_shape(input_shape, batch_input_shape, kwargs)

    # ----- weights -------------------------------------------------------------------------
    def add_weight(self, name: str, shape: tuple = (), initializer: Any = "glorot_uniform",
                   trainable: bool = True, dtype: Any = None, regularizer: Any = None,
                   constraint: Any = None) -> torch.nn.Parameter:
        """Create a named weight, registered with torch and tracked in Keras order."""
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        tdtype = backend.torch_dtype(dtype or self.dtype)
        _check_weight_size(self.name, name, tuple(backend.shape_tuple(shape)), tdtype)
        if getattr(_CALL_CONTEXT, "skip_init", False):
            # Every value is about to be overwritten by a load that checks it assigns them all.
            value = torch.empty(tuple(backend.shape_tuple(shape)), dtype=tdtype,
                                device=backend.get_device())
        else:
            value = init(tuple(backend.shape_tuple(shape)), dtype=tdtype).to(backend.get_device())
        param = torch.nn.Parameter(value, requires_grad=bool(trainable) and self.trainable)
        self.register_parameter(name, param)
        var = Variable(name=name, path=f"{self.name}/{name}", trainable=bool(trainable),
                       owner=self, attr=name)
        self._variables.append(var)
        if regularizer is not None:
            self._regularizers.append((var, regularizer))
        return param

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._flat_layers(include_self=True):
            if layer is not self:
                layer._trainable = bool(value)
            for var in layer._variables:
                var.value.requires_grad_(var.trainable)

    def _sublayers(self) -> list["Layer"]:
        """Direct child layers in tracking order (inside ModuleList/ModuleDict too)."""
        found: list[Layer] = []
        for module in self._modules.values():
            if isinstance(module, Layer):
                found.append(module)
            elif isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict)):
                mods = module.values() if isinstance(module, torch.nn.ModuleDict) else module
                found.extend(m for m in mods if isinstance(m, Layer))
        return found

    def _flat_layers(self, include_self: bool = False) -> Iterator["Layer"]:
        if include_self:
            yield self
        for layer in self._sublayers():
            yield from layer._flat_layers(include_self=True)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [v for v in self._variables if v.trainable]
        return _dedup(own + [w for l in self._sublayers() for w in l.trainable_weights])

    @property
    def non_trainable_weights(self) -> list[Variable]:
        own = [v for v in self._variables if not v.trainable]
        nested = [w for l in self._sublayers() for w in l.non_trainable_weights]
        if not self.trainable:
            return _dedup([v for v in self._variables] +
                          [w for l in self._sublayers() for w in l.weights])
        return _dedup(own + nested)

    @property
    def weights(self) -> list[Variable]:
        return self.trainable_weights + self.non_trainable_weights

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays, in Keras order."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Assign numpy arrays in Keras order; every shape is checked before anything changes."""
        own = self.weights
        if len(weights) != len(own):
            raise ShapeError(
                f"Layer '{self.name}' expected {len(own)} weights, but the given list has "
                f"{len(weights)} ({[tuple(np.shape(w)) for w in weights]}). Pass one array per "
                f"weight, in the order of layer.weights.")
        for var, value in zip(own, weights):
            if tuple(np.shape(value)) != var.shape:
                label = var.name if var._owner is self else var.path
                raise ShapeError(
                    f"Shape mismatch for layer \"{self.name}\" variable \"{label}\": expected "
                    f"{var.shape}, received {tuple(np.shape(value))}. Nothing was assigned.")
        for var, value in zip(own, weights):
            var.assign(value)

    def count_params(self) -> int:
        """The number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise NotBuiltError(
                f"Layer '{self.name}' is not built yet, so it has no weights to count. Call it "
                f"on data or call build(input_shape) first.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization and ``add_loss`` losses of this layer and its children."""
        found = [reg(var.value) for var, reg in self._regularizers] + list(self._own_losses)
        for layer in self._sublayers():
            found.extend(layer.losses)
        return found

    def add_loss(self, value: torch.Tensor) -> None:
        self._own_losses.append(value)

    def __setattr__(self, name: str, value: Any) -> None:
        # Keras tracks lists of layers; torch only sees them inside a ModuleList.
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            value = torch.nn.ModuleList(value)
        super().__setattr__(name, value)

    def _trackable_children(self) -> list[tuple[str, Any]]:
        """Children in a checkpoint's object graph: weights then sublayers, by attribute name."""
        from savepoint.saving.object_graph import TrackableList
        by_tensor = {id(v.value): v for v in self._variables}
        children: list[tuple[str, Any]] = [(name, by_tensor[id(p)]) for name, p in
                                           self._parameters.items() if id(p) in by_tensor]
        for name, module in self._modules.items():
            if isinstance(module, Layer):
                children.append((name, module))
            elif isinstance(module, torch.nn.ModuleList):
                children.append((name, TrackableList(m for m in module if isinstance(m, Layer))))
        return children

    # ----- calling -------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Create the weights for ``input_shape`` (batch dimension ``None``)."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The training hot path calls layers on plain tensors: skip the structure walk then.
        if not (args and isinstance(args[0], torch.Tensor) and "inputs" not in kwargs) and (
                args and is_symbolic(args[0]) or is_symbolic(kwargs.get("inputs"))):
            return self._symbolic_call(args, kwargs)
        raw = args[0] if args else kwargs.get("inputs")
        # Masks travel on the tensors (``_keras_mask``, as tf.keras does) or as ``mask=``.
        mask = kwargs.get("mask")
        if mask is None and isinstance(raw, torch.Tensor):
            mask = getattr(raw, "_keras_mask", None)
        if args:
            args = (self._convert_inputs(args[0]),) + args[1:]
        if not self.built:
            self._build_from(args[0] if args else kwargs.get("inputs"))
        training = kwargs.pop("training", None)
        outer = getattr(_CALL_CONTEXT, "training", None)
        if training is None:
            training = outer if outer is not None else False
        if self._call_has_training:
            kwargs["training"] = training
        if not self._call_has_mask:
            kwargs.pop("mask", None)
        elif mask is not None:
            kwargs["mask"] = mask
        if outer is None or outer != training:
            _CALL_CONTEXT.training = training
            try:
                outputs = self.call(*args, **kwargs)
            finally:
                _CALL_CONTEXT.training = outer
        else:
            outputs = self.call(*args, **kwargs)
        if (mask is not None or self._computes_mask) and outputs is not raw:
            _attach_mask(outputs, self.compute_mask(raw, mask))
        return outputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: the input's when ``supports_masking``, else ``None``.

        Example:
            >>> Layer().compute_mask(torch.ones(1, 2), torch.ones(1, 2, dtype=torch.bool)) is None
            True
        """
        return mask if self.supports_masking else None

    def _convert_inputs(self, inputs: Any) -> Any:
        def convert(x):
            if isinstance(x, torch.Tensor):
                if self._autocast_inputs and x.dtype != self._torch_dtype and (
                        x.is_floating_point() or not _is_index_layer(self)):
                    return x.to(self._torch_dtype)
                return x
            if isinstance(x, (np.ndarray, list, float, int)) and not isinstance(x, bool):
                dtype = self._torch_dtype if self._autocast_inputs else None
                return backend.to_tensor(x, dtype=dtype, device=self._device(),
                                         what=f"the input of layer '{self.name}'")
            return x
        return map_structure(convert, inputs) if isinstance(inputs, (list, tuple, dict)) \
            else convert(inputs)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return backend.get_device()

    def _build_from(self, inputs: Any) -> None:
        shape = map_structure(lambda t: (None,) + tuple(t.shape[1:]), inputs)
        self.build(shape)
        self.built = True

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        inputs = args[0] if args else kwargs["inputs"]
        if not self.built:
            self.build(map_structure(lambda t: t.shape, inputs))
            self.built = True
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
        out_dtype = self.dtype if self._autocast_inputs else flatten(inputs)[0].dtype
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

    # ----- assets (files shipped in a saved model's assets/) ---------------------------------
    def get_assets(self) -> dict[str, bytes]:
        """Files to ship with a saved model (plain file name -> bytes); none by default.

        Example:
            >>> Layer().get_assets()
            {}
        """
        return {}

    def load_assets(self, files: dict[str, bytes]) -> None:
        """Receive, after ``from_config``, the files ``get_assets()`` returned at save time."""

    # ----- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments as JSON-able values (Keras's layer config)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """Rebuild the layer from ``get_config()`` output."""
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name}"


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


__all__ = ["Layer", "Variable", "placeholder_like"]
