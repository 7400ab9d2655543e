"""Each built-in layer's inference forward pass as TensorFlow raw ops, keyed by class name.

A lowering gets the builder, the layer, its input edges, their static shapes and its output
shapes (batch ``None``)
and returns its output edges. Variables are read through the builder, so each becomes one
resource input of the function. Only channels-last layouts and the options a lowering checks are
accepted; anything else raises ``LoweringError`` naming the layer and the option, so the caller
can warn that the model has no serving signature instead of writing a wrong one.

Example:
    >>> LOWERINGS["Dense"].__name__, LOWERINGS["ReLU"].__name__
    ('_dense', '_relu')
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder, LoweringError
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_FLOAT, DT_INT32

Lowering = Callable[[FunctionBuilder, Any, list, list, list], list]
LOWERINGS: dict[str, Lowering] = {}
T = DT_FLOAT


def lowers(*names: str) -> Callable[[Lowering], Lowering]:
    def register(fn: Lowering) -> Lowering:
        for name in names:
            LOWERINGS[name] = fn
        return fn
    return register


def _refuse(layer: Any, what: str) -> LoweringError:
    return LoweringError(f"Layer '{layer.name}' ({type(layer).__name__}) cannot be lowered to "
                         f"TensorFlow ops: expected {what}. Fix: change that option, or serve the "
                         f"model from savepoint (its directory's inference/ program).")


def _variables(layer: Any) -> dict[str, Any]:
    return {name: child for name, child in layer._trackable_children()
            if hasattr(child, "value") and hasattr(child, "path")}


# ----------------------------------------------------------------------------- activations
def activate(b: FunctionBuilder, name: str, x: str, layer: Any) -> str:
    """``x`` through the Keras activation called ``name``."""
    if name == "linear":
        return x
    single = {"relu": "Relu", "relu6": "Relu6", "elu": "Elu", "selu": "Selu",
              "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softmax": "Softmax",
              "exponential": "Exp"}
    if name in single:
        return b.op(single[name], [x], T=T)
    if name == "leaky_relu":
        return b.op("LeakyRelu", [x], T=T, alpha=0.2)
    if name in ("swish", "silu"):
        return b.op("Mul", [x, b.op("Sigmoid", [x], T=T)], T=T)
    if name == "gelu":  # exact form, tf.keras 2's default: 0.5 x (1 + erf(x / sqrt 2))
        erf = b.op("Erf", [b.op("Mul", [x, b.scalar(1 / math.sqrt(2))], T=T)], T=T)
        half = b.op("Mul", [x, b.scalar(0.5)], T=T)
        return b.op("Mul", [half, b.op("AddV2", [erf, b.scalar(1.0)], T=T)], T=T)
    raise _refuse(layer, f"a built-in activation (linear, relu, relu6, elu, selu, sigmoid, "
                         f"tanh, softplus, softmax, exponential, leaky_relu, swish, gelu); "
                         f"received {name!r}")


def _activation_name(layer: Any) -> str:
    name = layer.get_config().get("activation", "linear")
    return name if isinstance(name, str) else str(name.get("class_name", name))


@lowers("InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization")
def _identity(b, layer, xs, shapes, outs):
    return list(xs)  # inference: these layers pass their input through


@lowers("Activation")
def _activation(b, layer, xs, shapes, outs):
    return [activate(b, _activation_name(layer), xs[0], layer)]


@lowers("ReLU")
def _relu(b, layer, xs, shapes, outs):
    """Keras 2's ``backend.relu``: x above ``threshold`` (capped at ``max_value``), else
    ``negative_slope * (x - threshold)``."""
    c = layer.get_config()
    max_value, slope, threshold = c.get("max_value"), float(c.get("negative_slope", 0.0)), \
        float(c.get("threshold", 0.0))
    if max_value is None and not threshold:
        return [b.op("LeakyRelu", xs, T=T, alpha=slope) if slope else b.op("Relu", xs, T=T)]
    x = xs[0]
    if threshold:  # multiplied by the mask, as Keras 2 does (-0.0 stays -0.0)
        above = b.op("Greater", [x, b.scalar(threshold)], T=T)
        y = b.op("Mul", [x, b.op("Cast", [above], SrcT=DT_BOOL, DstT=T)], T=T)
    elif max_value is not None and float(max_value) == 6.0:
        y, max_value = b.op("Relu6", [x], T=T), None
    else:
        y = b.op("Relu", [x], T=T)
    if max_value is not None:
        y = b.op("Minimum", [b.op("Maximum", [y, b.scalar(0.0)], T=T),
                             b.scalar(float(max_value))], T=T)
    if slope:
        shifted = b.op("Sub", [b.scalar(threshold), x], T=T) if threshold else \
            b.op("Neg", [x], T=T)
        y = b.op("Sub", [y, b.op("Mul", [b.op("Relu", [shifted], T=T), b.scalar(slope)],
                                 T=T)], T=T)
    return [y]


@lowers("LeakyReLU")
def _leaky_relu(b, layer, xs, shapes, outs):
    c = layer.get_config()
    return [b.op("LeakyRelu", xs, T=T, alpha=float(c.get("alpha", c.get("negative_slope", 0.3))))]


@lowers("ELU")
def _elu(b, layer, xs, shapes, outs):
    alpha = float(layer.get_config().get("alpha", 1.0))
    elu = b.op("Elu", xs, T=T)
    if alpha == 1.0:
        return [elu]
    # alpha * elu(x) + (1 - alpha) * relu(x): x above zero, alpha (e^x - 1) below
    relu = b.op("Relu", xs, T=T)
    return [b.op("AddV2", [b.op("Mul", [elu, b.scalar(alpha)], T=T),
                           b.op("Mul", [relu, b.scalar(1.0 - alpha)], T=T)], T=T)]


# Softmax (any axes): exports/lowering/misc.py


# ----------------------------------------------------------------------------- core
@lowers("Dense")
def _dense(b, layer, xs, shapes, outs):
    v = _variables(layer)
    kernel = b.variable(v["kernel"])
    if len(shapes[0]) == 2:
        y = b.op("MatMul", [xs[0], kernel], T=T)
    else:  # kernel broadcasts over the leading dimensions
        y = b.op("BatchMatMulV2", [xs[0], kernel], T=T)
    if "bias" in v:
        y = b.op("BiasAdd", [y, b.variable(v["bias"])], T=T)
    return [activate(b, _activation_name(layer), y, layer)]


def _reshape_to(b: FunctionBuilder, x: str, shape: tuple) -> str:
    dims = [-1] + [int(d) for d in shape[1:]]
    if any(d < 0 for d in dims[1:]):
        raise LoweringError(f"Expected static non-batch dimensions to reshape to. Received "
                            f"{shape}. Fix: give the model's Input a full shape.")
    return b.op("Reshape", [x, b.ints(dims)], T=T, Tshape=DT_INT32)


@lowers("Flatten", "Reshape")
def _reshape(b, layer, xs, shapes, outs):
    return [_reshape_to(b, xs[0], outs[0])]


# ----------------------------------------------------------------------------- merges
def _chain(op: str) -> Lowering:
    def lower(b, layer, xs, shapes, outs):
        y = xs[0]
        for x in xs[1:]:
            y = b.op(op, [y, x], T=T)
        return [y]
    return lower


for _name, _op_name in (("Add", "AddV2"), ("Multiply", "Mul"), ("Maximum", "Maximum"),
                        ("Minimum", "Minimum")):
    LOWERINGS[_name] = _chain(_op_name)


@lowers("Subtract")
def _subtract(b, layer, xs, shapes, outs):
    return [b.op("Sub", xs[:2], T=T)]


@lowers("Average")
def _average(b, layer, xs, shapes, outs):
    total = _chain("AddV2")(b, layer, xs, shapes, outs)[0]
    return [b.op("Mul", [total, b.scalar(1.0 / len(xs))], T=T)]


@lowers("Concatenate")
def _concatenate(b, layer, xs, shapes, outs):
    axis = int(layer.get_config().get("axis", -1))
    return [b.op("ConcatV2", list(xs) + [b.const(np.asarray(axis, np.int32))], N=len(xs), T=T,
                 Tidx=DT_INT32)]


__all__ = ["LOWERINGS", "activate", "lowers"]
