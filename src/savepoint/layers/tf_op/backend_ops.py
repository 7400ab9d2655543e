"""``keras.backend`` functions on symbolic tensors: they record the TF-op layers tf.keras 2 records.

In tf.keras 2, ``K.mean(x, axis=1)`` on an ``Input`` becomes a ``tf.math.reduce_mean``
``TFOpLambda`` (``K.sqrt`` a ``tf.math.maximum`` then a ``tf.math.sqrt``). ``install`` wraps the
common functions of ``savepoint.backend`` so they do the same on ``KerasTensor`` arguments and run
their torch implementation otherwise (one type check per call on the eager path).

Example:
    >>> import savepoint as keras
    >>> x = keras.Input((3,))
    >>> keras.backend.mean(x, axis=1)._history[0].function
    'math.reduce_mean'
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Callable

from savepoint.layers.symbolic import KerasTensor, tf_op


def _reduce(function: str) -> Callable:
    def record(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf_op(function, x, axis=axis, keepdims=keepdims)
    return record


def _unary(function: str, **extra: Any) -> Callable:
    return lambda x: tf_op(function, x, **extra)


def _binary(function: str, **extra: Any) -> Callable:
    return lambda x, y: tf_op(function, x, y=y, **extra)


def _sqrt(x: Any) -> Any:
    return tf_op("math.sqrt", tf_op("math.maximum", x, y=0.0, name=None))


def _relu(x: Any, alpha: float = 0.0, max_value: Any = None, threshold: float = 0.0) -> Any:
    if alpha == 0.0 and threshold == 0.0 and max_value is None:
        return tf_op("nn.relu", x, name=None)
    if alpha == 0.0 and threshold == 0.0 and max_value == 6.0:
        return tf_op("nn.relu6", x)
    from savepoint.errors import ConfigError
    raise ConfigError(f"keras.backend.relu on a symbolic tensor supports alpha=0, threshold=0 "
                      f"and max_value None or 6. Received alpha={alpha}, max_value={max_value}, "
                      f"threshold={threshold}. Fix: use keras.layers.ReLU(...) instead.")


def _clip(x: Any, min_value: Any, max_value: Any) -> Any:
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and \
            max_value < min_value:
        max_value = min_value  # tf.keras.backend.clip's rule
    return tf_op("clip_by_value", x, clip_value_min=min_value, clip_value_max=max_value)


def _axis(x: Any, axis: int) -> int:
    return axis % len(x.shape) if axis < 0 else axis


SYMBOLIC: dict[str, Callable] = {
    "mean": _reduce("math.reduce_mean"), "sum": _reduce("math.reduce_sum"),
    "max": _reduce("math.reduce_max"), "min": _reduce("math.reduce_min"),
    "prod": _reduce("math.reduce_prod"),
    "square": _unary("math.square", name=None), "sqrt": _sqrt, "exp": _unary("math.exp"),
    "log": _unary("math.log", name=None), "abs": _unary("math.abs"),
    "sigmoid": _unary("math.sigmoid"), "tanh": _unary("math.tanh", name=None),
    "softplus": _unary("math.softplus"), "elu": lambda x, alpha=1.0: (
        tf_op("nn.elu", x, name=None) if alpha == 1.0 else _unsupported("elu", alpha=alpha)),
    "pow": lambda x, a: tf_op("math.pow", x, y=a),
    "maximum": _binary("math.maximum", name=None), "minimum": _binary("math.minimum", name=None),
    "greater": _binary("math.greater", name=None), "less": _binary("math.less", name=None),
    "equal": _binary("math.equal"), "not_equal": _binary("math.not_equal"),
    "softmax": lambda x, axis=-1: tf_op("nn.softmax", x, axis=axis),
    "relu": _relu, "clip": _clip,
    "l2_normalize": lambda x, axis=None: tf_op("math.l2_normalize", x, axis=axis),
    "concatenate": lambda tensors, axis=-1: tf_op(
        "concat", list(tensors), axis=_axis(tensors[0], axis)),
    "stack": lambda x, axis=0: tf_op("stack", list(x), axis=axis),
    "reshape": lambda x, shape: tf_op("reshape", x, shape=list(shape)),
    "flatten": lambda x: tf_op("reshape", x, shape=[-1]),
    "expand_dims": lambda x, axis=-1: tf_op("expand_dims", x, axis=axis),
    "squeeze": lambda x, axis: tf_op("compat.v1.squeeze", x, axis=[axis], name=None),
    "permute_dimensions": lambda x, pattern: tf_op("compat.v1.transpose", x, perm=list(pattern)),
    "cast": lambda x, dtype: tf_op("cast", x, dtype=str(dtype)),
    "var": _reduce("math.reduce_variance"), "std": _reduce("math.reduce_std"),
    "logsumexp": _reduce("math.reduce_logsumexp"),
    "cumsum": lambda x, axis=0: tf_op("math.cumsum", x, axis=axis),
    "argmax": lambda x, axis=-1: tf_op("math.argmax", x, axis=axis),
    "sign": _unary("math.sign"), "round": _unary("math.round"),
    "sin": _unary("math.sin", name=None), "cos": _unary("math.cos", name=None),
    "hard_sigmoid": lambda x: _hard_sigmoid(x),
    "batch_flatten": _unary("keras.backend.batch_flatten"),
    "one_hot": lambda indices, num_classes: tf_op("one_hot", indices, depth=num_classes),
    "dot": lambda x, y: _dot(x, y),
}


def _dot(x: Any, y: Any) -> Any:
    ranks = [len(t.shape) if hasattr(t, "shape") else 0 for t in (x, y)]
    if ranks[0] > 2 or ranks[1] > 2:
        from savepoint.errors import ConfigError
        raise ConfigError(f"keras.backend.dot on symbolic tensors supports rank <= 2 operands. "
                          f"Received ranks {ranks}. Fix: use x @ w (tf.linalg.matmul) or a "
                          f"Dense/EinsumDense layer.")
    return tf_op("linalg.matmul", x, b=y)


def _hard_sigmoid(x: Any) -> Any:
    # tf.keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1), recorded as three ops
    scaled = tf_op("math.add", tf_op("math.multiply", x, y=0.2), y=0.5)
    return tf_op("clip_by_value", scaled, clip_value_min=0.0, clip_value_max=1.0)


# keras.activations on a symbolic tensor, as tf.keras 2 records them. Not installed with
# install(): savepoint.activations must keep the very functions of savepoint.layers.activations
# (tests and serialization compare them by identity), so those functions call these themselves.
ACTIVATIONS: dict[str, Callable] = {
    "relu": _relu, "sigmoid": _unary("math.sigmoid"), "tanh": _unary("math.tanh", name=None),
    "softmax": lambda x, axis=-1: tf_op("nn.softmax", x, axis=axis),
    "swish": _unary("nn.silu"), "silu": _unary("nn.silu"),
    "gelu": lambda x, approximate=False: tf_op("nn.gelu", x, approximate=approximate),
    "elu": SYMBOLIC["elu"], "selu": _unary("nn.selu", name=None),
    "softplus": _unary("math.softplus"), "softsign": _unary("nn.softsign", name=None),
    "exponential": _unary("math.exp"), "hard_sigmoid": _hard_sigmoid,
    # tf.keras 2's mish is x * tanh(softplus(x)): three ops, as it records them
    "mish": lambda x: x * tf_op("math.tanh", tf_op("math.softplus", x), name=None),
    # savepoint-only names (tf.keras 2.21's keras.activations lacks them): the TF op they wrap
    "relu6": _unary("nn.relu6"),
    "log_softmax": lambda x, axis=-1: tf_op("nn.log_softmax", x, axis=axis),
    "leaky_relu": lambda x, alpha=0.2: tf_op("nn.leaky_relu", x, alpha=alpha),
}


def _unsupported(function: str, **values: Any) -> Any:
    from savepoint.errors import ConfigError
    raise ConfigError(f"keras.backend.{function} on a symbolic tensor supports only the default "
                      f"arguments. Received {values}. Fix: use the matching keras.layers layer.")


def _symbolic(args: tuple, kwargs: dict) -> bool:
    for value in (*args, *kwargs.values()):
        if type(value) is KerasTensor or (isinstance(value, (list, tuple)) and any(
                type(v) is KerasTensor for v in value)):
            return True
    return False


def _dispatch(eager: Callable, symbolic: Callable) -> Callable:
    @functools.wraps(eager)
    def function(*args: Any, **kwargs: Any) -> Any:
        if _symbolic(args, kwargs):
            return symbolic(*args, **kwargs)
        return eager(*args, **kwargs)
    function._tf_op_eager = eager
    return function


def install(backend: ModuleType, table: dict[str, Callable] | None = None) -> None:
    """Make ``backend``'s common functions (or ``table``'s, in another module such as
    ``keras.activations``) record TF-op layers on symbolic tensors (idempotent).

    Example:
        >>> import savepoint.backend as K
        >>> install(K); K.mean.__name__
        'mean'
    """
    for name, symbolic in (SYMBOLIC if table is None else table).items():
        eager = getattr(backend, name, None)
        if eager is None or hasattr(eager, "_tf_op_eager"):
            continue
        setattr(backend, name, _dispatch(eager, symbolic))
