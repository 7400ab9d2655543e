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
from savepoint.layers.symbolic import (Node, flatten, is_symbolic, map_structure,
                                       placeholder_like)
from savepoint.layers.layer_losses import _ADD_LOSS_USED, LossesMixin  # noqa: F401 (trainer reads it)
from savepoint.layers.layer_symbolic import SymbolicCallMixin
from savepoint.layers.variable import Variable
from savepoint.mixed_precision_policy import (POLICIES, Policy, call_in_policy, policy_config,
                                              resolve_dtype)
from savepoint.layers.layer_helpers import (_check_weight_size, _batch_shape, _attach_mask, EagerOutput, eager_outputs, _takes_strings, _dedup, _shapes_to_tensors, _merge_trial_shapes)  # noqa: F401

_CALL_CONTEXT = threading.local()
# Set once any layer calls add_loss: only then does an outermost call clear stale call losses.
# Keyword arguments of tf.keras 2.x's Layer: no effect here (``weights`` is set once built, and
# input_dim/batch_size make the input shape).
_ACCEPTED_LEGACY_KWARGS = {"autocast", "dynamic", "input_dim", "batch_size", "weights"}


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


class Layer(SymbolicCallMixin, LossesMixin, torch.nn.Module):
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
    _compute_torch: torch.dtype | None = None  # a mixed policy's compute dtype
    # tf.keras autocasts float inputs only: your own layers (and Lambda) receive ints as ints.
    # savepoint's float layers (Dense, Conv...) also take int data, cast to their dtype.
    _cast_int_inputs = False
    _dtype_policy: Any = None
    # Keras's mask contract: a layer that passes its input's mask on unchanged sets this.
    supports_masking = False
    _computes_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.call).parameters
        cls._call_has_training = "training" in params
        cls._call_has_mask = "mask" in params
        cls._computes_mask = cls.compute_mask is not Layer.compute_mask
        if "_cast_int_inputs" not in vars(cls) and cls.__module__.startswith("savepoint."):
            cls._cast_int_inputs = True

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: tuple | None = None, batch_input_shape: tuple | None = None,
                 activity_regularizer: Any = None, **kwargs: Any):
        super().__init__()
        unknown = set(kwargs) - _ACCEPTED_LEGACY_KWARGS
        if unknown:
            raise ConfigError(f"Keyword argument(s) not understood by {type(self).__name__}: "
                              f"{sorted(unknown)}. Remove them or check their spelling.")
        # a mixed policy (Dense(4, dtype="mixed_float16")): float32 weights, half compute
        dtype, self._dtype_policy = resolve_dtype(dtype)
        if self._dtype_policy is not None:
            self._compute_torch = backend.torch_dtype(self._dtype_policy.compute_dtype)
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = str(dtype or backend.floatx()).replace("torch.", "")
        # "string" (an Input of text) has no torch dtype: strings stay numpy arrays up to the
        # preprocessing layer that turns them into int64 ids
        self._torch_dtype = backend.torch_dtype("int64" if self.dtype == "string" else self.dtype)
        self._variables: list[Variable] = []
        self._regularizers: list[tuple[Variable, Any]] = []
        self._own_losses: list[torch.Tensor] = []
        self._inbound_nodes: list[Node] = []
        self.built = False
        self._batch_input_shape = _batch_shape(input_shape, batch_input_shape, kwargs)
        from savepoint.layers import regularizers  # regularizers import the saving registry
        # tf.keras's Layer argument: regularizer(output) / batch size, a loss of each call
        self.activity_regularizer = regularizers.get(activity_regularizer)
        # tf.keras's ``weights=[...]`` (e.g. a pretrained Embedding matrix): set once built
        self._initial_weights = kwargs.get("weights")

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
        if constraint is not None:  # the optimizer projects the weight after each update
            if "_weight_constraints" not in self.__dict__:
                self._weight_constraints: dict[str, Any] = {}
            self._weight_constraints[name] = constraint
        return param

    # ----- dtype policy (tf.keras 2: ``dtype`` is the variables' dtype) --------------------
    @property
    def dtype_policy(self) -> Any:
        """The layer's ``mixed_precision.Policy`` (``mixed_float16``, or its plain dtype)."""
        if self._dtype_policy is not None:
            return self._dtype_policy
        return Policy(self.dtype) if self.dtype in POLICIES else None

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in (``float16`` under ``mixed_float16``)."""
        return self._dtype_policy.compute_dtype if self._dtype_policy else self.dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights (float32 under a mixed policy)."""
        return self.dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._flat_layers(include_self=True):
            if layer is not self:
                layer._trainable = bool(value)
            for var in layer._own_variables():
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
        if self.__dict__.get("_plain_torch_modules", True):  # none known: skip the walk
            found.extend(layer for _, layer in _layers_in_torch_modules(self))
        return found

    def _own_variables(self) -> list[Variable]:
        """This layer's weights: ``add_weight`` ones, then those of plain torch submodules."""
        if not self._variables and not self._modules:
            return []
        torch_vars = self._torch_variables()
        return self._variables + torch_vars if torch_vars else self._variables

    def _torch_variables(self) -> list[Variable]:
        """Parameters and persistent buffers of plain ``torch.nn`` submodules (``self.proj =
        nn.Linear(...)``) as weights named by attribute path, e.g. ``layer/proj/weight``:
        Keras tracks every variable a layer holds, so fit trains them and saving keeps them."""
        found: list[Variable] = []
        cache = self.__dict__.setdefault("_torch_var_cache", {})
        for prefix, module in _torch_submodules(self):
            for attr, tensor, is_buffer in _module_tensors(module):
                key = (id(module), attr, is_buffer)
                path = f"{self.name}/{prefix}/{attr}"
                var = cache.get(key)
                if var is None or var._owner is not module or var.path != path:
                    var = _ModuleVariable(name=attr, path=path, trainable=not is_buffer and
                                          tensor.requires_grad, owner=module, attr=attr)
                    var._layer, var._buffer = self, is_buffer
                    cache[key] = var
                found.append(var)
        return found

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> "Layer":
        """``model.to(torch.float64)``/``.half()``: the layer then computes in the new float
        dtype (its inputs are cast to it), as a Keras layer of that dtype does."""
        result = super()._apply(fn, *args, **kwargs)
        if self._torch_dtype.is_floating_point:
            try:
                probe = fn(torch.empty(0, dtype=self._torch_dtype))
            except Exception:  # a function that only works on parameters: dtype unchanged
                return result
            if isinstance(probe, torch.Tensor) and probe.is_floating_point() and \
                    probe.dtype != self._torch_dtype:
                self._torch_dtype = probe.dtype
                self.dtype = str(probe.dtype).replace("torch.", "")
        return result

    def _flat_layers(self, include_self: bool = False) -> Iterator["Layer"]:
        if include_self:
            yield self
        for layer in self._sublayers():
            yield from layer._flat_layers(include_self=True)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [v for v in self._own_variables() if v.trainable]
        return _dedup(own + [w for l in self._sublayers() for w in l.trainable_weights])

    @property
    def non_trainable_weights(self) -> list[Variable]:
        own = [v for v in self._own_variables() if not v.trainable]
        nested = [w for l in self._sublayers() for w in l.non_trainable_weights]
        if not self.trainable:
            return _dedup(self._own_variables() +
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

    def __setattr__(self, name: str, value: Any) -> None:
        # Keras tracks lists of layers; torch only sees them inside a ModuleList.
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            value = torch.nn.ModuleList(value)
        if isinstance(value, torch.nn.Module):
            self.__dict__.pop("_plain_torch_modules", None)
        super().__setattr__(name, value)

    def _trackable_children(self) -> list[tuple[str, Any]]:
        """Children in a checkpoint's object graph: weights then sublayers, by attribute name."""
        from savepoint.trackable import TrackableList
        by_tensor = {id(v.value): v for v in self._variables}
        children: list[tuple[str, Any]] = [(name, by_tensor[id(p)]) for name, p in
                                           self._parameters.items() if id(p) in by_tensor]
        for name, module in self._modules.items():
            if isinstance(module, Layer):
                children.append((name, module))
            elif isinstance(module, torch.nn.ModuleList) and (
                    not len(module) or any(isinstance(m, Layer) for m in module)):
                children.append((name, TrackableList(m for m in module if isinstance(m, Layer))))
        torch_vars = self._torch_variables()
        nested = _layers_in_torch_modules(self) if \
            self.__dict__.get("_plain_torch_modules", True) else []
        if torch_vars or nested:
            children += _torch_children(torch_vars, nested, self.name)
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
        if getattr(_CALL_CONTEXT, "depth", 0):
            return self._keras_call(*args, **kwargs)
        # The outermost call: last call's add_loss() tensors belong to a freed graph.
        if _ADD_LOSS_USED[0]:
            self._clear_call_losses()
        _CALL_CONTEXT.depth = 1
        try:
            outputs = self._keras_call(*args, **kwargs)
        finally:
            _CALL_CONTEXT.depth = 0
        return eager_outputs(outputs)

    def _keras_call(self, *args: Any, **kwargs: Any) -> Any:
        # The training hot path calls layers on plain tensors: skip the structure walk then.
        if not (args and isinstance(args[0], torch.Tensor) and "inputs" not in kwargs) and (
                args and is_symbolic(args[0]) or is_symbolic(kwargs.get("inputs"))):
            return self._symbolic_call(args, kwargs)
        raw = args[0] if args else kwargs.get("inputs")
        # Masks travel on the tensors (``_keras_mask``, as tf.keras does) or as ``mask=``.
        mask = kwargs.get("mask")
        if mask is None and isinstance(raw, torch.Tensor):
            mask = getattr(raw, "_keras_mask", None)
        elif mask is None and isinstance(raw, (list, tuple)) and raw:
            masks = [getattr(t, "_keras_mask", None) for t in raw]
            mask = masks if any(m is not None for m in masks) else None
        if args:
            args = (self._convert_inputs(args[0]),) + args[1:]
        if not self.built:
            self._build_from(args[0] if args else kwargs.get("inputs"))
        training = kwargs.pop("training", None)
        outer = getattr(_CALL_CONTEXT, "training", None)
        if training is None:
            training = outer if outer is not None else False
        torch_modules = self.__dict__.get("_plain_torch_modules")
        if torch_modules is None:
            torch_modules = self.__dict__["_plain_torch_modules"] = _plain_torch_modules(self)
        for module in torch_modules:  # torch.nn children follow Keras's training flag
            if module.training != training:
                module.train(bool(training))
        if self._call_has_training:
            kwargs["training"] = training
        if not self._call_has_mask:
            kwargs.pop("mask", None)
        elif mask is not None:
            kwargs["mask"] = mask
        if self._compute_torch is not None:
            call = lambda *a, **k: call_in_policy(self, self._compute_torch, a, k)  # noqa: E731
        else:
            call = self.call
        if outer is None or outer != training:
            _CALL_CONTEXT.training = training
            try:
                outputs = call(*args, **kwargs)
            finally:
                _CALL_CONTEXT.training = outer
        else:
            outputs = call(*args, **kwargs)
        if self.__dict__.get("activity_regularizer") is not None:
            self._activity_losses(outputs)
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
            if isinstance(x, np.ndarray) and x.dtype.kind in "OUS" and _takes_strings(self):
                return x  # a model with a string Input: its text layers read numpy strings
            target = self._compute_torch or self._torch_dtype
            if isinstance(x, torch.Tensor):
                if self._autocast_inputs and x.dtype != target and (
                        x.is_floating_point() or self._cast_int_inputs):
                    return x.to(target)
                return x
            if isinstance(x, (np.ndarray, list, float, int)) and not isinstance(x, bool):
                dtype = target if self._autocast_inputs and (
                    self._cast_int_inputs or np.asarray(x).dtype.kind == "f") else None
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
        self._set_initial_weights()

    def _set_initial_weights(self) -> None:
        if self.__dict__.get("_initial_weights") is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

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
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype if
                  self._dtype_policy is None else policy_config(self._dtype_policy)}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.__dict__.get("activity_regularizer") is not None:
            from savepoint.serialization import serialize
            config["activity_regularizer"] = serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """Rebuild the layer from ``get_config()`` output."""
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name}"


# Plain torch modules inside layers live beside this module; imported last (they use Layer).
from savepoint.layers.torch_modules import (_ModuleVariable, _layers_in_torch_modules,  # noqa: E402
                                            _module_tensors, _plain_torch_modules,
                                            _torch_children, _torch_submodules)

__all__ = ["Layer", "Variable", "placeholder_like"]
