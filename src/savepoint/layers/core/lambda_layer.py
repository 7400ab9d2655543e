"""``Lambda``: wrap a function as a layer, saved as tf.keras saves it (marshalled code, base64).

A lambda's config holds its code object as ``marshal`` + base64 (tf.keras's ``func_dump``:
``[code, defaults, closure]``); restoring it runs that code, so it is refused while
``load_model(safe_mode=True)`` is in effect. A named function is stored by name and restored only
from ``custom_objects`` (or a registration) -- savepoint never imports the module a file names.

Example:
    >>> import torch
    >>> layer = Lambda(lambda x: x * 2)
    >>> layer(torch.ones(1, 2)).tolist()
    [[2.0, 2.0]]
"""

from __future__ import annotations

import base64
import builtins
import inspect
import marshal
import sys
import types
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import ConfigError, UnknownObjectError
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, in_safe_mode

_UNSAFE = (
    "Requested the deserialization of a Lambda layer's {what}, stored as Python bytecode: "
    "loading it runs that code, which could do anything (arbitrary code execution), so it is "
    "refused in safe mode. If you trust the source of this file, pass safe_mode=False to "
    "load_model(); better, replace the Lambda by a custom layer class with get_config() and "
    "pass it in custom_objects.")


@builtin("layers", "lambda")
class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer (Keras's ``Lambda``).

    Args:
        function: the function to apply; it may accept ``mask`` and ``training`` keywords.
        output_shape: the output shape without the batch dimension, or a function of the input
            shape; inferred by running the function when omitted.
        mask: must be ``None`` (masks are not propagated by savepoint).
        arguments: extra keyword arguments passed to ``function``.

    Example:
        >>> import savepoint as keras, numpy as np
        >>> m = keras.Sequential([keras.layers.Lambda(lambda x: x + 1, input_shape=(2,))])
        >>> m.predict(np.zeros((1, 2)), verbose=0).tolist()
        [[1.0, 1.0]]
    """

    _cast_int_inputs = False  # tf.keras's Lambda gets int tensors as they are

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not callable(function):
            raise ConfigError(f"Lambda expected a callable `function`. Received {function!r} of "
                              f"type {type(function).__name__}.")
        if mask is not None:
            raise ConfigError("Lambda received a `mask`, but savepoint does not propagate masks. "
                              "Pass mask=None.")
        self.function, self.arguments = function, dict(arguments or {})
        self._output_shape = output_shape
        params = _parameters(function)
        self._fn_takes_training = "training" in params
        self._fn_takes_mask = "mask" in params

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            raise NotImplementedError  # infer by running the function (Layer's default)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        batch = input_shape[0] if isinstance(input_shape, tuple) and input_shape else None
        return (batch,) + tuple(self._output_shape)

    def get_config(self) -> dict:
        """Keras 2's Lambda config: ``function``/``function_type``/``module``, the same for
        ``output_shape``, and ``arguments``."""
        config = super().get_config()
        stored = self.__dict__.get("_loaded_function")
        if stored is not None and stored[0] is self.function:  # same bytes as the loaded config
            function, function_type, module = stored[1]
        else:
            function, function_type, module = _serialize_function(self.function)
        config.update({"function": function, "function_type": function_type, "module": module,
                       "arguments": self.arguments})
        if callable(self._output_shape):
            shape, shape_type, shape_module = _serialize_function(self._output_shape)
        else:
            shape = list(self._output_shape) if self._output_shape is not None else None
            shape_type, shape_module = "raw", None
        config.update({"output_shape": shape, "output_shape_type": shape_type,
                       "output_shape_module": shape_module})
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Lambda":
        """Rebuild a Lambda; bytecode is only loaded outside safe mode."""
        config = dict(config)
        stored = (config.pop("function"), config.pop("function_type", "lambda"),
                  config.pop("module", None))
        function = _deserialize_function(*stored, custom_objects, "function")
        shape, shape_type = config.pop("output_shape", None), \
            config.pop("output_shape_type", "raw")
        shape_module = config.pop("output_shape_module", None)
        if shape is not None and shape_type != "raw":
            shape = _deserialize_function(shape, shape_type, shape_module, custom_objects,
                                          "output_shape function")
        layer = cls(function, output_shape=shape, **config)
        layer.__dict__["_loaded_function"] = (function, stored)
        return layer


def _parameters(function: Callable) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def _serialize_function(function: Callable) -> tuple[Any, str, str | None]:
    module = getattr(function, "__module__", None)
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>":
        return func_dump(function), "lambda", module
    name = getattr(function, "__name__", None)
    if name is None:
        raise ConfigError(f"Cannot save the Lambda function {function!r}: expected a lambda or a "
                          f"named function.")
    return name, "function", module


def func_dump(function: Callable) -> list:
    """``[base64 marshal of the code, defaults, closure values]`` (tf.keras's ``func_dump``).

    Example:
        >>> code, defaults, closure = func_dump(lambda x, k=2: x * k)
        >>> defaults, closure
        ([2], None)
    """
    code = base64.b64encode(marshal.dumps(function.__code__)).decode("ascii")
    defaults = list(function.__defaults__) if function.__defaults__ else None
    closure = [c.cell_contents for c in function.__closure__] if function.__closure__ else None
    return [code, defaults, closure]


def func_load(dumped: Any, module: str | None = None) -> Callable:
    """Rebuild a function from ``func_dump`` output. Runs stored bytecode: callers check safe
    mode first.

    Example:
        >>> func_load(func_dump(lambda x: x + 1))(1)
        2
    """
    if isinstance(dumped, (list, tuple)):
        code, defaults, closure = (list(dumped) + [None, None])[:3]
    else:
        code, defaults, closure = dumped, None, None
    try:
        code_object = marshal.loads(base64.b64decode(code.encode("ascii")))
        if not isinstance(code_object, types.CodeType):
            raise ValueError("not a code object")
    except (ValueError, EOFError, TypeError, AttributeError) as e:
        raise ConfigError(
            f"Could not restore a Lambda function: its stored bytecode is unreadable ({e}). "
            f"Bytecode only loads in the Python version that saved it (this is "
            f"{sys.version_info.major}.{sys.version_info.minor}). Fix: load with that Python "
            f"version, or replace the Lambda by a custom layer.") from None
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    namespace = {"__builtins__": builtins, "torch": torch, "np": np, "numpy": np}
    loaded = sys.modules.get(module or "")  # an already-imported module's globals; never import
    if loaded is not None:
        namespace = {**vars(loaded), **namespace}
    return types.FunctionType(code_object, namespace, code_object.co_name,
                              tuple(defaults) if defaults else None, cells)


def _deserialize_function(value: Any, kind: str, module: str | None,
                          custom_objects: dict | None, what: str) -> Callable:
    if kind == "lambda":
        if in_safe_mode():
            raise ConfigError(_UNSAFE.format(what=what))
        return func_load(value, module)
    if kind == "function":
        from savepoint.serialization import resolve_class
        try:
            return resolve_class(str(value), "functions", custom_objects)
        except UnknownObjectError:
            raise UnknownObjectError(
                f"Could not locate the Lambda {what} '{value}' (module {module!r}). savepoint "
                f"never imports a module named in a file. Fix: pass custom_objects="
                f"{{'{value}': {value}}} to load_model, or use custom_object_scope.") from None
    raise ConfigError(f"Unknown Lambda function_type {kind!r}. Expected 'lambda' or 'function'.")


__all__ = ["Lambda", "func_dump", "func_load"]
