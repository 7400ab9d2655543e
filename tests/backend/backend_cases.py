"""The keras.backend cases shared by tools/make_backend_goldens.py (runs them on tf.keras) and
tests/backend/test_backend_goldens.py (runs them on savepoint). ``"$name"`` is an input array."""

import numpy as np


def inputs() -> dict:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 3, 4)).astype("float32")
    logits = rng.standard_normal((3, 4)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return {
        "a": a, "c": rng.standard_normal((2, 3, 4)).astype("float32"),
        "b": rng.standard_normal((4, 5)).astype("float32"),
        "d": rng.standard_normal((5, 4, 6)).astype("float32"),
        "p": rng.uniform(0.5, 2.0, (2, 3, 4)).astype("float32"),
        "logits": logits, "probs": probs.astype("float32"),
        "onehot": np.eye(4, dtype="float32")[[0, 3, 1]],
        "labels": np.array([0, 3, 1], "int64"),
        "bt": rng.integers(0, 2, (3, 4)).astype("float32"),
        "bp": np.concatenate([rng.uniform(0, 1, (3, 3)), [[0.0], [1.0], [0.5]]],
                             axis=1).astype("float32"),
        "x2": rng.standard_normal((6, 5)).astype("float32"),
        "y2": rng.standard_normal((6, 5)).astype("float32"),
        "x3": rng.standard_normal((6, 4, 3)).astype("float32"),
        "y3": rng.standard_normal((6, 3, 5)).astype("float32"),
        "z3": rng.standard_normal((6, 5, 4)).astype("float32"),
        "w2": rng.standard_normal((6, 4)).astype("float32"),
    }


# (case id, function, positional args, keyword args)
CASES = [
    ("mean", "mean", ["$a"], {}), ("mean_ax", "mean", ["$a"], {"axis": 1, "keepdims": True}),
    ("mean_axes", "mean", ["$a"], {"axis": [0, 2]}),
    ("sum", "sum", ["$a"], {"axis": -1}), ("prod", "prod", ["$p"], {"axis": [1, 2]}),
    ("max", "max", ["$a"], {"axis": 1}), ("min", "min", ["$a"], {}),
    ("var", "var", ["$a"], {"axis": 2}), ("std", "std", ["$a"], {"axis": 0, "keepdims": True}),
    ("argmax", "argmax", ["$a"], {}), ("argmin", "argmin", ["$a"], {"axis": 1}),
    ("cumsum", "cumsum", ["$a"], {"axis": 2}),
    ("square", "square", ["$a"], {}), ("sqrt", "sqrt", ["$a"], {}), ("exp", "exp", ["$a"], {}),
    ("log", "log", ["$p"], {}), ("abs", "abs", ["$a"], {}), ("sign", "sign", ["$a"], {}),
    ("pow", "pow", ["$p"], {"a": 3}), ("clip", "clip", ["$a", -0.5, 0.7], {}),
    ("clip_swapped", "clip", ["$a", 0.5, 0.1], {}),
    ("maximum", "maximum", ["$a", "$c"], {}), ("minimum", "minimum", ["$a", "$c"], {}),
    ("dot", "dot", ["$a", "$b"], {}), ("dot_nd", "dot", ["$a", "$d"], {}),
    ("batch_dot", "batch_dot", ["$x2", "$y2"], {}),
    ("batch_dot_ax1", "batch_dot", ["$x2", "$y2"], {"axes": 1}),
    ("batch_dot_3d", "batch_dot", ["$x3", "$y3"], {}),
    ("batch_dot_3d_ax", "batch_dot", ["$x3", "$z3"], {"axes": (1, 2)}),
    ("batch_dot_3d2d", "batch_dot", ["$x3", "$w2"], {"axes": (1, 1)}),
    ("concatenate", "concatenate", [["$a", "$c"]], {"axis": 1}),
    ("stack", "stack", [["$a", "$c"]], {"axis": 1}),
    ("reshape", "reshape", ["$a"], {"shape": (4, -1)}),
    ("permute", "permute_dimensions", ["$a"], {"pattern": (2, 0, 1)}),
    ("expand_dims", "expand_dims", ["$a"], {"axis": 1}),
    ("batch_flatten", "batch_flatten", ["$a"], {}),
    ("tile", "tile", ["$b"], {"n": (2, 1)}),
    ("repeat_elements", "repeat_elements", ["$b"], {"rep": 2, "axis": 1}),
    ("repeat", "repeat", ["$b"], {"n": 3}),
    ("transpose", "transpose", ["$a"], {}),
    ("one_hot", "one_hot", ["$labels", 5], {}),
    ("softmax", "softmax", ["$a"], {}), ("softmax_ax", "softmax", ["$a"], {"axis": 1}),
    ("relu", "relu", ["$a"], {}),
    ("relu_args", "relu", ["$a"], {"alpha": 0.1, "max_value": 0.8, "threshold": 0.2}),
    ("sigmoid", "sigmoid", ["$a"], {}), ("hard_sigmoid", "hard_sigmoid", ["$a"], {}),
    ("tanh", "tanh", ["$a"], {}), ("softplus", "softplus", ["$a"], {}),
    ("elu", "elu", ["$a"], {"alpha": 0.5}),
    ("l2_normalize", "l2_normalize", ["$a"], {"axis": -1}),
    ("l2_normalize_all", "l2_normalize", ["$a"], {}),
    ("cce", "categorical_crossentropy", ["$onehot", "$probs"], {}),
    ("cce_unnormalized", "categorical_crossentropy", ["$onehot", "$bp"], {}),
    ("cce_logits", "categorical_crossentropy", ["$onehot", "$logits"], {"from_logits": True}),
    ("scce", "sparse_categorical_crossentropy", ["$labels", "$probs"], {}),
    ("scce_logits", "sparse_categorical_crossentropy", ["$labels", "$logits"],
     {"from_logits": True}),
    ("bce", "binary_crossentropy", ["$bt", "$bp"], {}),
    ("bce_logits", "binary_crossentropy", ["$bt", "$logits"], {"from_logits": True}),
    ("cast", "cast", ["$a", "int32"], {}),
    ("shape", "shape", ["$a"], {}),
    ("zeros_like", "zeros_like", ["$a"], {}), ("ones", "ones", [(2, 3)], {}),
    ("eye", "eye", [3], {}), ("constant", "constant", [1.5], {"shape": (2, 2)}),
    ("equal", "equal", ["$a", "$a"], {}), ("greater", "greater", ["$a", "$c"], {}),
    ("switch", "switch", ["$bt", "$bp", "$logits"], {}),
    ("gather", "gather", ["$b", "$labels"], {}),
]


def resolve(value, arrays: dict, convert):
    """Replace ``"$name"`` (also inside lists) with ``convert(arrays[name])``."""
    if isinstance(value, str) and value.startswith("$"):
        return convert(arrays[value[1:]])
    if isinstance(value, list):
        return [resolve(v, arrays, convert) for v in value]
    return value
