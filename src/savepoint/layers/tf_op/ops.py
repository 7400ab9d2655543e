"""The whitelist of TF functions a ``TFOpLambda`` may name, each as a torch implementation.

tf.keras 2 records ``tf.<function>(first, **rest)`` calls on symbolic tensors with the function's
TF API name (``"math.multiply"``, ``"nn.relu6"``, ``"__operators__.getitem"``) and TF's parameter
names. Each entry here takes the same parameters. Names are only ever looked up in ``OPS``: a
name from a file is never resolved against a module.

Example:
    >>> import torch
    >>> OPS["math.multiply"](torch.ones(2), y=3.0).tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from savepoint.errors import ConfigError


def _tensor(value: Any, like: Any = None) -> torch.Tensor:
    """A constant as a tensor of ``like``'s dtype and device (TF converts a Python number to
    the dtype of the tensor it meets)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return torch.as_tensor(value, dtype=torch.float32 if _has_float(value) else None)


def _has_float(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


def _pair(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    like = x if isinstance(x, torch.Tensor) else y
    return _tensor(x, like), _tensor(y, like)


def _binary(fn: Callable, scalars: bool = True) -> Callable:
    def op(x: Any, y: Any, name: Any = None) -> torch.Tensor:
        if scalars and isinstance(x, torch.Tensor) and isinstance(y, (int, float)) and \
                not isinstance(y, bool) and (x.is_floating_point() or isinstance(y, int)):
            return fn(x, y)  # a Python number stays a scalar: no tensor made per call
        return fn(*_pair(x, y))
    return op


def _unary(fn: Callable, arg: str = "x") -> Callable:
    def op(*args: Any, name: Any = None, **kwargs: Any) -> torch.Tensor:
        value = args[0] if args else kwargs.pop(arg)
        return fn(_tensor(value))
    return op


def _dims(axis: Any, rank: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(rank))
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return tuple(int(a) % rank for a in axes)


def _reduce(fn: Callable) -> Callable:
    def op(input_tensor: Any, axis: Any = None, keepdims: bool = False,
           name: Any = None) -> torch.Tensor:
        x = _tensor(input_tensor)
        return fn(x, _dims(axis, x.dim()), bool(keepdims))
    return op


def _prod(x: torch.Tensor, dims: tuple, keepdim: bool) -> torch.Tensor:
    for d in sorted(dims, reverse=True):  # torch.prod reduces one dim at a time
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


def _transpose(a: Any, perm: Any = None, name: Any = None, conjugate: bool = False):
    a = _tensor(a)
    perm = list(perm) if perm is not None else list(range(a.dim()))[::-1]
    return a.permute(*perm)


def _squeeze(input: Any, axis: Any = None, name: Any = None, squeeze_dims: Any = None):
    x = _tensor(input)
    axis = axis if axis is not None else squeeze_dims
    return x.squeeze() if axis is None else x.squeeze(_dims(axis, x.dim()))


def _shape(input: Any, out_type: Any = "int32", name: Any = None) -> torch.Tensor:
    x = _tensor(input)
    return torch.tensor(tuple(x.shape), dtype=_dtype(out_type or "int32"), device=x.device)


def _dtype(name: Any) -> torch.dtype:
    from savepoint.backend import torch_dtype
    return torch_dtype(str(name))


def _resize(images: Any, size: Any, method: str = "bilinear", preserve_aspect_ratio: bool = False,
            antialias: bool = False, name: Any = None) -> torch.Tensor:
    modes = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic",
             "area": "area"}
    if method not in modes or preserve_aspect_ratio:
        raise ConfigError(f"tf.image.resize: expected method in {sorted(modes)} and "
                          f"preserve_aspect_ratio=False. Received method={method!r}, "
                          f"preserve_aspect_ratio={preserve_aspect_ratio!r}. Fix: use a "
                          f"supported method, or keras.layers.Resizing.")
    x = _tensor(images)
    out = x.permute(0, 3, 1, 2)  # TF images are NHWC
    out = out.float() if not out.is_floating_point() else out
    kwargs = {"align_corners": False, "antialias": bool(antialias)} \
        if modes[method] in ("bilinear", "bicubic") else {}
    out = F.interpolate(out, size=tuple(int(s) for s in size), mode=modes[method], **kwargs)
    out = out.permute(0, 2, 3, 1)
    return out.to(x.dtype) if method == "nearest" else out


def _matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
            adjoint_a: bool = False, adjoint_b: bool = False, a_is_sparse: bool = False,
            b_is_sparse: bool = False, output_type: Any = None, grad_a: bool = False,
            grad_b: bool = False, name: Any = None) -> torch.Tensor:
    a, b = _pair(a, b)
    if transpose_a or adjoint_a:
        a = a.transpose(-1, -2)
    if transpose_b or adjoint_b:
        b = b.transpose(-1, -2)
    return torch.matmul(a, b)


def _where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> torch.Tensor:
    if x is None or y is None:
        raise ConfigError("tf.where: expected both x and y (the one-argument form returns "
                          "indices with a data-dependent shape). Received x or y = None.")
    x, y = _pair(x, y)
    return torch.where(_tensor(condition).bool(), x, y)


def _clip(t: Any, clip_value_min: Any, clip_value_max: Any, name: Any = None) -> torch.Tensor:
    t = _tensor(t)
    return torch.clamp(t, _tensor(clip_value_min, t), _tensor(clip_value_max, t))


def _gelu(features: Any, approximate: bool = False, name: Any = None) -> torch.Tensor:
    return F.gelu(_tensor(features), approximate="tanh" if approximate else "none")


def _silu(features: Any, beta: float = 1.0, name: Any = None) -> torch.Tensor:
    x = _tensor(features)
    return F.silu(x) if beta == 1.0 else x * torch.sigmoid(beta * x)


def _l2(x: torch.Tensor, axis: Any, epsilon: float) -> torch.Tensor:
    dims = _dims(axis, x.dim())
    square_sum = torch.sum(x * x, dim=dims, keepdim=True)
    return x * torch.rsqrt(torch.clamp(square_sum, min=epsilon))


def _floordiv(x: Any, y: Any) -> torch.Tensor:
    # torch.floor_divide has no derivative; TF's floordiv gradient is zero, as div's floor mode
    return torch.div(x, y, rounding_mode="floor")


def _cumsum(x: torch.Tensor, axis: int, exclusive: bool, reverse: bool) -> torch.Tensor:
    if reverse:
        x = x.flip(axis)
    out = torch.cumsum(x, axis)
    if exclusive:
        out = out - x
    return out.flip(axis) if reverse else out


def _pad(x: torch.Tensor, paddings: Any, mode: str, constant_values: Any) -> torch.Tensor:
    modes = {"CONSTANT": "constant", "REFLECT": "reflect"}
    if str(mode).upper() not in modes:
        raise ConfigError(f"tf.pad: expected mode 'CONSTANT' or 'REFLECT'. Received {mode!r}. "
                          f"Fix: use one of those modes.")
    flat = [int(p) for pair in reversed(list(paddings)) for p in pair]  # torch: last dim first
    mode = modes[str(mode).upper()]
    if mode == "constant":
        return F.pad(x, flat, value=float(constant_values))
    return F.pad(x, flat, mode=mode)


def _gather(x: torch.Tensor, indices: Any, axis: Any, batch_dims: int) -> torch.Tensor:
    if batch_dims:
        raise ConfigError(f"tf.gather: expected batch_dims=0. Received {batch_dims}. Fix: "
                          f"gather without batch dims, or use a custom layer.")
    index = _tensor(indices).to(device=x.device, dtype=torch.long)
    axis = 0 if axis is None else int(axis) % x.dim()
    out = torch.index_select(x, axis, index.reshape(-1))
    return out.reshape(x.shape[:axis] + index.shape + x.shape[axis + 1:])


def _one_hot(indices: torch.Tensor, depth: int, on_value: Any, off_value: Any, axis: Any,
             dtype: Any) -> torch.Tensor:
    if axis not in (None, -1):
        raise ConfigError(f"tf.one_hot: expected axis=-1. Received axis={axis}. Fix: transpose "
                          f"the result instead.")
    # TF gives all-off rows to out-of-range (e.g. -1) indices: one extra class, dropped
    safe = torch.where(torch.logical_and(indices >= 0, indices < depth), indices.long(),
                       torch.full_like(indices.long(), depth))
    hot = F.one_hot(safe, depth + 1)[..., :depth]
    torch_type = _dtype(dtype or "float32")
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    return torch.where(hot.bool(), torch.as_tensor(on, dtype=torch_type, device=indices.device),
                       torch.as_tensor(off, dtype=torch_type, device=indices.device))


def _einsum(equation: str, *inputs: Any, name: Any = None, **kwargs: Any) -> torch.Tensor:
    operands = list(inputs) or list(kwargs.pop("inputs", []))
    return torch.einsum(equation, *[_tensor(t) for t in operands])


def index_from_spec(spec: Any) -> Any:
    """tf.keras's JSON ``slice_spec`` as a Python index.

    Example:
        >>> index_from_spec([{"class_name": "__ellipsis__"}, None, 0])
        (Ellipsis, None, 0)
    """
    if isinstance(spec, list):
        return tuple(index_from_spec(s) for s in spec)
    if isinstance(spec, dict) and spec.get("class_name") == "__ellipsis__":
        return Ellipsis
    if isinstance(spec, dict) and set(spec) == {"start", "stop", "step"}:
        if spec["step"] is not None and spec["step"] < 0:
            raise ConfigError(f"Expected a slice step > 0 (torch tensors have no negative "
                              f"strides). Received step={spec['step']}. Fix: use tf.reverse "
                              f"or a positive step.")
        return slice(spec["start"], spec["stop"], spec["step"])
    if spec is None or (isinstance(spec, int) and not isinstance(spec, bool)):
        return spec
    raise ConfigError(f"Expected a slice_spec item as a slice, an int, None (newaxis) or an "
                      f"ellipsis. Received {spec!r}.")


_FEATURES = "features"
OPS: dict[str, Callable] = {
    "__operators__.add": _binary(torch.add),
    "math.add": _binary(torch.add),
    "math.subtract": _binary(torch.sub),
    "math.multiply": _binary(torch.mul),
    "math.truediv": _binary(torch.true_divide),
    "math.divide": _binary(torch.true_divide),
    "math.pow": _binary(torch.pow),
    "math.maximum": _binary(torch.maximum, scalars=False),
    "math.minimum": _binary(torch.minimum, scalars=False),
    "math.greater": _binary(torch.gt),
    "math.greater_equal": _binary(torch.ge),
    "math.less": _binary(torch.lt),
    "math.less_equal": _binary(torch.le),
    "math.equal": _binary(torch.eq),
    "math.not_equal": _binary(torch.ne),
    "math.abs": _unary(torch.abs),
    "math.exp": _unary(torch.exp),
    "math.log": _unary(torch.log),
    "math.sqrt": _unary(torch.sqrt),
    "math.rsqrt": _unary(torch.rsqrt),
    "math.square": _unary(torch.square),
    "math.negative": _unary(torch.neg),
    "math.sigmoid": _unary(torch.sigmoid),
    "math.tanh": _unary(torch.tanh),
    "math.softplus": _unary(F.softplus),
    "nn.elu": _unary(F.elu, _FEATURES),
    "math.l2_normalize": lambda x, axis=None, epsilon=1e-12, name=None, dim=None: _l2(
        _tensor(x), axis if axis is not None else dim, epsilon),
    "math.reduce_mean": _reduce(lambda x, d, k: torch.mean(x, dim=d, keepdim=k)),
    "math.reduce_sum": _reduce(lambda x, d, k: torch.sum(x, dim=d, keepdim=k)),
    "math.reduce_max": _reduce(lambda x, d, k: torch.amax(x, dim=d, keepdim=k)),
    "math.reduce_min": _reduce(lambda x, d, k: torch.amin(x, dim=d, keepdim=k)),
    "math.reduce_prod": _reduce(_prod),
    "reshape": lambda tensor, shape, name=None: _tensor(tensor).reshape(
        [int(s) for s in (shape.tolist() if isinstance(shape, torch.Tensor) else shape)]),
    "transpose": _transpose,
    "compat.v1.transpose": _transpose,
    "concat": lambda values, axis, name=None: torch.cat([_tensor(v) for v in values], int(axis)),
    "stack": lambda values, axis=0, name=None: torch.stack([_tensor(v) for v in values],
                                                           int(axis)),
    "expand_dims": lambda input, axis, name=None: _tensor(input).unsqueeze(int(axis)),
    "squeeze": _squeeze,
    "compat.v1.squeeze": _squeeze,
    "shape": _shape,
    "compat.v1.shape": _shape,
    "cast": lambda x, dtype, name=None: _tensor(x).to(_dtype(dtype)),
    "identity": lambda input, name=None: _tensor(input),
    "clip_by_value": _clip,
    "where": _where,
    "nn.relu": _unary(torch.relu, _FEATURES),
    "nn.relu6": _unary(F.relu6, _FEATURES),
    "nn.softmax": lambda logits, axis=None, name=None: torch.softmax(
        _tensor(logits), -1 if axis is None else int(axis)),
    "nn.sigmoid": _unary(torch.sigmoid),
    "nn.gelu": _gelu,
    "nn.silu": _silu,
    "nn.swish": _silu,
    "nn.leaky_relu": lambda features, alpha=0.2, name=None: F.leaky_relu(
        _tensor(features), float(alpha)),
    "image.resize": _resize,
    "linalg.matmul": _matmul,
    "matmul": _matmul,
    "einsum": _einsum,
    "__operators__.getitem": lambda tensor, slice_spec, var=None: _tensor(tensor)[
        index_from_spec(slice_spec)],
    "compat.v1.floor_div": _binary(_floordiv),
    "math.floordiv": _binary(_floordiv),
    "math.floormod": _binary(torch.remainder),  # floor modulo, the sign of the divisor
    "math.sin": _unary(torch.sin),
    "math.cos": _unary(torch.cos),
    "math.floor": _unary(torch.floor),
    "math.round": _unary(torch.round),  # half to even, as TF
    "math.sign": _unary(torch.sign),
    "math.erf": _unary(torch.erf),
    "math.reciprocal": _unary(torch.reciprocal),
    "math.log_sigmoid": _unary(F.logsigmoid),
    "nn.softsign": _unary(F.softsign, _FEATURES),
    "nn.selu": _unary(F.selu, _FEATURES),
    "nn.log_softmax": lambda logits, axis=None, name=None: torch.log_softmax(
        _tensor(logits), -1 if axis is None else int(axis)),
    "math.reduce_std": _reduce(lambda x, d, k: torch.std(x, dim=d, keepdim=k, correction=0)),
    "math.reduce_variance": _reduce(lambda x, d, k: torch.var(x, dim=d, keepdim=k,
                                                              correction=0)),
    "math.reduce_logsumexp": _reduce(lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k)),
    "math.cumsum": lambda x, axis=0, exclusive=False, reverse=False, name=None: _cumsum(
        _tensor(x), int(axis), exclusive, reverse),
    "math.argmax": lambda input, axis=None, output_type="int64", name=None: torch.argmax(
        _tensor(input), 0 if axis is None else int(axis)).to(_dtype(output_type)),
    "tile": lambda input, multiples, name=None: _tensor(input).repeat(
        *[int(m) for m in multiples]),
    "ones_like": lambda input, dtype=None, name=None: torch.ones_like(
        _tensor(input), dtype=None if dtype is None else _dtype(dtype)),
    "zeros_like": lambda input, dtype=None, name=None: torch.zeros_like(
        _tensor(input), dtype=None if dtype is None else _dtype(dtype)),
    "compat.v1.pad": lambda tensor, paddings, mode="CONSTANT", name=None, constant_values=0:
        _pad(_tensor(tensor), paddings, mode, constant_values),
    "pad": lambda tensor, paddings, mode="CONSTANT", constant_values=0, name=None:
        _pad(_tensor(tensor), paddings, mode, constant_values),
    "compat.v1.gather": lambda params, indices, validate_indices=None, name=None, axis=None,
        batch_dims=0: _gather(_tensor(params), indices, axis, batch_dims),
    "gather": lambda params, indices, validate_indices=None, axis=None, batch_dims=0,
        name=None: _gather(_tensor(params), indices, axis, batch_dims),
    "one_hot": lambda indices, depth, on_value=None, off_value=None, axis=None, dtype=None,
        name=None: _one_hot(_tensor(indices), int(depth), on_value, off_value, axis, dtype),
    "keras.backend.batch_flatten": lambda x: _tensor(x).reshape(_tensor(x).shape[0], -1),
}

__all__ = ["OPS", "index_from_spec"]
