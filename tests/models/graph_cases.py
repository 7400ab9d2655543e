"""The model-graph golden cases, written once for both sides: each ``case_*`` takes a Keras
module (``tf_keras`` in tools/make_model_graph_goldens.py, ``savepoint`` in the tests) and returns
``(arrays, meta)`` that the tool stores and the tests compare. Plain numpy only at import time.

Example:
    >>> sorted(CASES)[:2]
    ['functional_float_input', 'functional_int_input']
"""

from __future__ import annotations

import numpy as np

IDS = np.array([[1, 2, 3, 4, 5], [9, 8, 7, 6, 0]], dtype="int64")


def _dtype(x) -> str:
    """A dtype's plain name, from tf/torch/numpy objects alike (``tf.int32`` -> ``"int32"``)."""
    return str(getattr(x, "name", x)).replace("torch.", "").replace("<dtype: '", "").rstrip("'>")


def _embedding_weights() -> np.ndarray:
    return np.arange(30, dtype="float32").reshape(10, 3) / 10


def case_functional_int_input(keras):
    """``Input(dtype="int32")`` -> ``x * 2``: the op gets int32 ids, whatever the data's dtype."""
    i = keras.Input((5,), dtype="int32")
    model = keras.Model(i, i * 2)
    out_int = model.predict(IDS, verbose=0)
    out_float = model.predict(IDS.astype("float32"), verbose=0)
    return ({"out_int": out_int, "out_float": out_float},
            {"dtype_int": _dtype(out_int.dtype), "dtype_float": _dtype(out_float.dtype),
             "input_dtype": _dtype(model.input.dtype)})


def case_functional_float_input(keras):
    """A float ``Input`` still casts int data to float32."""
    i = keras.Input((5,))
    out = keras.Model(i, i * 2).predict(IDS, verbose=0)
    return {"out": out}, {"dtype": _dtype(out.dtype)}


def case_int_input_embedding(keras):
    """``Input(dtype="int32")`` -> ``Embedding``, functional and Sequential."""
    i = keras.Input((5,), dtype="int32")
    emb = keras.layers.Embedding(10, 3)
    functional = keras.Model(i, emb(i))
    emb.set_weights([_embedding_weights()])
    seq = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(10, 3)])
    seq.set_weights([_embedding_weights()])
    return ({"functional": functional.predict(IDS, verbose=0),
             "sequential": seq.predict(IDS, verbose=0)},
            {"sequential_input_dtype": _dtype(seq.input.dtype)})


def case_sequential_inferred_input(keras):
    """A Sequential with no input shape takes its Input's dtype from the data that builds it;
    one whose first layer has ``input_shape`` takes that layer's dtype."""
    built_on_ints = keras.Sequential([keras.layers.Lambda(lambda t: t)])
    built_on_ints.predict(IDS, verbose=0)
    built_on_floats = keras.Sequential([keras.layers.Dense(2)])
    built_on_floats.predict(IDS.astype("float32"), verbose=0)
    declared = keras.Sequential([keras.layers.Embedding(10, 3, input_shape=(5,))])
    return ({"x": IDS},
            {"ints": _dtype(built_on_ints.input.dtype),
             "floats": _dtype(built_on_floats.input.dtype),
             "declared": _dtype(declared.input.dtype)})


def _unbatched_model(keras):
    """Outputs without a batch axis: a scalar per batch and a column sum per batch, beside a
    normal batched Dense output."""
    K = keras.backend
    i = keras.Input((3,))
    dense = keras.layers.Dense(2, kernel_initializer="ones")
    total = keras.layers.Lambda(lambda t: K.sum(t))(i)
    column = keras.layers.Lambda(lambda t: K.sum(t, axis=0))(i)
    return keras.Model(i, [dense(i), total, column])


def case_predict_unbatched(keras):
    """``predict`` of outputs with no batch axis: tf.keras stacks per-batch scalars, concatenates
    the rest on axis 0, and returns a single batch's value as it is."""
    model = _unbatched_model(keras)
    x = np.arange(30, dtype="float32").reshape(10, 3)
    arrays, meta = {"x": x}, {}
    for batch_size in (4, 10, 32):
        dense, total, column = model.predict(x, batch_size=batch_size, verbose=0)
        arrays.update({f"dense_{batch_size}": dense, f"total_{batch_size}": np.asarray(total),
                       f"column_{batch_size}": column})
        meta[str(batch_size)] = [list(np.shape(o)) for o in (dense, total, column)]
        meta[f"total_type_{batch_size}"] = type(total).__name__  # a lone scalar: Python float
    return arrays, meta


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}
