"""TF-op layers <-> Keras 3's symbolic ops (``keras.src.ops.numpy.Add`` ...) in ``.keras`` files.

Keras 3 records ``x + 1`` on a symbolic tensor as an ``Add`` operation whose node holds both
operands (``args: [x, 1.0]``) and whose config holds the op's own arguments (``Mean``'s ``axis``
and ``keepdims``). A savepoint ``TFOpLambda`` keeps tf.keras 2's form (``function``, first
argument, TF keyword names). This module translates whole layer entries both ways through one
table, so Keras 3 loads our ``.keras`` and we load Keras 3's; an op with no Keras 3 twin is
refused with a fix rather than written wrongly.

Example:
    >>> entry = {"module": "savepoint.layers.tf_op.layer", "class_name": "TFOpLambda",
    ...          "config": {"name": "tf.math.multiply", "function": "math.multiply"},
    ...          "name": "tf.math.multiply", "inbound_nodes": [{"args": ["X"], "kwargs": {"y": 2.0}}]}
    >>> out = to_keras3_op(entry)
    >>> out["class_name"], out["inbound_nodes"]
    ('Multiply', [{'args': ['X', 2.0], 'kwargs': {}}])
    >>> from_keras3_op(out)["config"]["function"]
    'math.multiply'
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError, UnknownObjectError

_NP, _NN, _CORE = "keras.src.ops.numpy", "keras.src.ops.nn", "keras.src.ops.core"
_MATH = "keras.src.ops.math"
_UNSET = object()

# TF function -> (Keras 3 module, class, kind, {TF keyword: (Keras 3 config key, default)}).
# kinds: "binary" (TF's second operand ``y``/``b`` becomes the second arg), "unary", "list"
# (first argument a list of tensors), "where", "getitem".
_TABLE: dict[str, tuple] = {}


def _add(functions: tuple, module: str, cls: str, kind: str, params: dict | None = None,
         extra: dict | None = None) -> None:
    for function in functions:
        _TABLE[function] = (module, cls, kind, params or {}, extra or {})


for _fns, _cls in ((("__operators__.add", "math.add"), "Add"), (("math.subtract",), "Subtract"),
                   (("math.multiply",), "Multiply"), (("math.truediv", "math.divide"),
                                                      "TrueDivide"),
                   (("math.pow",), "Power"), (("math.maximum",), "Maximum"),
                   (("math.minimum",), "Minimum"), (("math.greater",), "Greater"),
                   (("math.greater_equal",), "GreaterEqual"), (("math.less",), "Less"),
                   (("math.less_equal",), "LessEqual"), (("math.equal",), "Equal"),
                   (("math.not_equal",), "NotEqual"),
                   (("compat.v1.floor_div", "math.floordiv"), "FloorDivide"),
                   (("math.floormod",), "Mod")):
    _add(_fns, _NP, _cls, "binary")
for _fn, _module, _cls in (("math.abs", _NP, "Absolute"), ("math.exp", _NP, "Exp"),
                           ("math.log", _NP, "Log"), ("math.sqrt", _NP, "Sqrt"),
                           ("math.square", _NP, "Square"), ("math.negative", _NP, "Negative"),
                           ("math.tanh", _NP, "Tanh"), ("math.sigmoid", _NN, "Sigmoid"),
                           ("math.softplus", _NN, "Softplus"), ("nn.relu", _NN, "Relu"),
                           ("nn.relu6", _NN, "Relu6"), ("nn.silu", _NN, "Silu"),
                           ("identity", _NP, "Copy"), ("math.sin", _NP, "Sin"),
                           ("math.cos", _NP, "Cos"), ("math.floor", _NP, "Floor"),
                           ("math.sign", _NP, "Sign"), ("math.erf", _MATH, "Erf"),
                           ("math.reciprocal", _NP, "Reciprocal"),
                           ("math.rsqrt", _MATH, "Rsqrt"), ("nn.selu", _NN, "Selu"),
                           ("math.log_sigmoid", _NN, "LogSigmoid"),
                           ("nn.softsign", _NN, "Softsign")):
    _add((_fn,), _module, _cls, "unary")
_REDUCE = {"axis": ("axis", None), "keepdims": ("keepdims", False)}
_add(("math.reduce_mean",), _NP, "Mean", "unary", _REDUCE)
_add(("math.reduce_sum",), _NP, "Sum", "unary", _REDUCE)
_add(("math.reduce_max",), _NP, "Max", "unary", _REDUCE, {"initial": None})
_add(("math.reduce_min",), _NP, "Min", "unary", _REDUCE, {"initial": None})
_add(("math.reduce_prod",), _NP, "Prod", "unary", _REDUCE, {"dtype": None})
_add(("math.reduce_variance",), _NP, "Var", "unary", _REDUCE)
_add(("math.reduce_std",), _NP, "Std", "unary", _REDUCE)
_add(("math.reduce_logsumexp",), _MATH, "Logsumexp", "unary", _REDUCE)
_add(("math.round",), _NP, "Round", "unary", {}, {"decimals": 0})
_add(("math.cumsum",), _NP, "Cumsum", "unary", {"axis": ("axis", 0)}, {"dtype": None})
_add(("tile",), _NP, "Tile", "unary", {"multiples": ("repeats", _UNSET)})
_add(("ones_like",), _NP, "OnesLike", "unary", {"dtype": ("dtype", None)})
_add(("zeros_like",), _NP, "ZerosLike", "unary", {"dtype": ("dtype", None)})
_add(("nn.log_softmax",), _NN, "LogSoftmax", "unary", {"axis": ("axis", -1)})
_add(("reshape",), _NP, "Reshape", "unary", {"shape": ("newshape", _UNSET)})
_add(("transpose", "compat.v1.transpose"), _NP, "Transpose", "unary",
     {"perm": ("axes", None)})
_add(("concat",), _NP, "Concatenate", "list", {"axis": ("axis", _UNSET)})
_add(("stack",), _NP, "Stack", "list", {"axis": ("axis", 0)})
_add(("expand_dims",), _NP, "ExpandDims", "unary", {"axis": ("axis", _UNSET)})
_add(("squeeze", "compat.v1.squeeze"), _NP, "Squeeze", "unary", {"axis": ("axis", None)})
_add(("cast",), _CORE, "Cast", "unary", {"dtype": ("dtype", _UNSET)})
_add(("clip_by_value",), _NP, "Clip", "unary", {"clip_value_min": ("x_min", _UNSET),
                                                "clip_value_max": ("x_max", _UNSET)})
_add(("nn.softmax",), _NN, "Softmax", "unary", {"axis": ("axis", -1)})
_add(("nn.gelu",), _NN, "Gelu", "unary", {"approximate": ("approximate", False)})
_add(("nn.leaky_relu",), _NN, "LeakyRelu", "unary", {"alpha": ("negative_slope", 0.2)})
_add(("nn.elu",), _NN, "Elu", "unary", {}, {"alpha": 1.0})
_add(("linalg.matmul", "matmul"), _NP, "Matmul", "binary")
_add(("where",), _NP, "Where", "where")
_add(("__operators__.getitem",), _NP, "GetItem", "getitem")
_BINARY_ARG = {"linalg.matmul": "b", "matmul": "b"}
# Keras 3 class -> the TF function savepoint records for it (the first name in the table)
_REVERSE = {}
for _fn, _spec in _TABLE.items():
    _REVERSE.setdefault((_spec[0], _spec[1]), _fn)
_IGNORED = {"name"}  # TF's op-name argument: no effect on the numbers


def to_keras3_op(entry: dict) -> dict:
    """A native ``TFOpLambda`` layer entry -> the Keras 3 operation entry Keras 3 writes."""
    config = entry["config"]
    function = config["function"]
    if function not in _TABLE:
        raise ConfigError(f"TF op '{function}' (layer '{entry['name']}') has no Keras 3 "
                          f"operation, so it cannot be written to a .keras file. Expected one "
                          f"of {sorted(_TABLE)}. Fix: save as .h5 or a model directory.")
    module, cls, kind, params, extra = _TABLE[function]
    k3_config: dict[str, Any] = {"name": config["name"]}
    nodes = []
    for node in entry.get("inbound_nodes", []):
        args, kwargs = list(node.get("args", [])), dict(node.get("kwargs", {}))
        for key in _IGNORED:
            kwargs.pop(key, None)
        first = args[0] if args else kwargs.pop(_first_name(function), None)
        if kind == "binary":
            key = _BINARY_ARG.get(function, "y")
            if key not in kwargs:
                raise ConfigError(f"TF op '{function}' (layer '{entry['name']}') lacks its "
                                  f"second operand '{key}'.")
            k3_args = [first, kwargs.pop(key)]
        elif kind == "where":
            k3_args = [first, kwargs.pop("x", None), kwargs.pop("y", None)]
        elif kind == "getitem":
            k3_args = [first, _key_out(kwargs.pop("slice_spec"))]
        else:
            k3_args = [first]
        for tf_key, (k3_key, default) in params.items():
            value = kwargs.pop(tf_key, default)
            if value is _UNSET:
                raise ConfigError(f"TF op '{function}' (layer '{entry['name']}') lacks its "
                                  f"argument '{tf_key}'.")
            k3_config[k3_key] = value
        leftover = {k: v for k, v in kwargs.items() if v not in (None, False)}
        if leftover:
            raise ConfigError(f"TF op '{function}' (layer '{entry['name']}') has argument(s) "
                              f"{leftover} that Keras 3's {cls} does not take. Fix: save as "
                              f".h5 or a model directory.")
        nodes.append({"args": k3_args, "kwargs": {}})
    k3_config.update(extra)
    out = {"module": module, "class_name": cls, "config": k3_config, "registered_name": cls,
           "name": entry["name"], "inbound_nodes": nodes}
    return out


def from_keras3_op(entry: dict) -> dict:
    """A Keras 3 operation entry (``keras.src.ops.numpy.Add`` ...) -> a native TF-op layer
    entry; an operation outside the table raises ``UnknownObjectError``."""
    key = (entry.get("module"), entry.get("class_name"))
    if key not in _REVERSE:
        raise UnknownObjectError(
            f"Unknown Keras 3 operation {key[0]}.{key[1]} (layer '{entry.get('name')}'): "
            f"savepoint loads only {sorted(f'{m}.{c}' for m, c in _REVERSE)}. Fix: rebuild the "
            f"model with a supported op or a layer.")
    function = _REVERSE[key]
    _, cls, kind, params, extra = _TABLE[function]
    config = dict(entry.get("config") or {})
    name = config.pop("name", entry.get("name"))
    for k, default in extra.items():
        if config.pop(k, default) != default:
            raise ConfigError(f"Keras 3 {cls} '{name}' sets {k}, which savepoint does not "
                              f"support (only {k}={default!r}).")
    tf_kwargs = {}
    for tf_key, (k3_key, default) in params.items():
        if k3_key in config:
            tf_kwargs[tf_key] = config.pop(k3_key)
    if config:
        raise ConfigError(f"Keras 3 {cls} '{name}' has argument(s) {sorted(config)} savepoint "
                          f"does not support.")
    nodes = []
    for node in entry.get("inbound_nodes", []):
        args = [_constant_in(a) for a in node.get("args", [])]
        kwargs = dict(node.get("kwargs", {}))
        if kwargs:
            raise ConfigError(f"Keras 3 {cls} '{name}' is called with keyword argument(s) "
                              f"{sorted(kwargs)} savepoint does not support.")
        native_kwargs = dict(tf_kwargs)
        if kind == "binary":
            native_kwargs[_BINARY_ARG.get(function, "y")] = args[1]
        elif kind == "where":
            native_kwargs.update(x=args[1], y=args[2])
        elif kind == "getitem":
            native_kwargs["slice_spec"] = _key_in(args[1])
        nodes.append({"args": [args[0]], "kwargs": native_kwargs})
    layer = "SlicingOpLambda" if kind == "getitem" else "TFOpLambda"
    return {"module": "savepoint.layers.tf_op.layer", "class_name": layer,
            "registered_name": layer, "name": entry.get("name", name),
            "config": {"name": name, "function": function}, "inbound_nodes": nodes}


def _constant_in(value: Any) -> Any:
    """Keras 3 writes array constants as ``__tensor__``/``__numpy__`` objects; a TF op takes
    them as nested lists (converted to the other operand's dtype when it runs)."""
    if isinstance(value, dict) and value.get("class_name") in ("__tensor__", "__numpy__"):
        return (value.get("config") or {}).get("value")
    if isinstance(value, list):
        return [_constant_in(v) for v in value]
    return value


def _first_name(function: str) -> str:
    return "tensor" if function == "__operators__.getitem" else "x"


def _key_out(spec: Any) -> Any:
    if isinstance(spec, list):
        return [_key_out(s) for s in spec]
    if isinstance(spec, dict) and spec.get("class_name") == "__ellipsis__":
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(spec, dict) and set(spec) == {"start", "stop", "step"}:
        return {"class_name": "__slice__", "config": dict(spec)}
    return spec


def _key_in(key: Any) -> Any:
    if isinstance(key, list):
        return [_key_in(k) for k in key]
    if isinstance(key, dict) and key.get("class_name") == "__ellipsis__":
        return {"class_name": "__ellipsis__"}
    if isinstance(key, dict) and key.get("class_name") == "__slice__":
        config = key.get("config") or {}
        return {"start": config.get("start"), "stop": config.get("stop"),
                "step": config.get("step")}
    return key
