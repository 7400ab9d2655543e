"""The model-graph golden cases, written once for both sides: each ``case_*`` takes a Keras
module (``tf_keras`` in tools/make_model_graph_goldens.py, ``savepoint`` in the tests) and returns
``(arrays, meta)`` that the tool stores and the tests compare. Plain numpy only at import time.

Example:
    >>> "functional_int_input" in CASES
    True
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
    # Embedding declares input_shape=(None,) itself: built (float32 Input) before any data
    embedding = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.Dense(2)])
    return ({"x": IDS},
            {"ints": _dtype(built_on_ints.input.dtype),
             "floats": _dtype(built_on_floats.input.dtype),
             "declared": _dtype(declared.input.dtype),
             "embedding_built": embedding.built,
             "embedding_input": [_dtype(embedding.input.dtype), list(embedding.input_shape)],
             "embedding_config": embedding.layers[0].get_config()["batch_input_shape"]})


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


def _tagger(keras, loss="sparse_categorical_crossentropy"):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> TimeDistributed(Dense): an output mask."""
    model = keras.Sequential([
        keras.layers.Embedding(10, 4, mask_zero=True, input_length=5),
        keras.layers.LSTM(3, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax"))])
    model.build((None, 5))
    rng = np.random.default_rng(11)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(keras.optimizers.SGD(0.1), loss=loss, metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    return model


def case_all_masked_batch(keras):
    """A batch whose every step is masked: tf.keras 2's loss is NaN (valid count 0 in
    ``apply_valid_mask``), its metrics 0 (``divide_no_nan``); one such batch makes the epoch's
    loss NaN, and a train step writes NaN into the weights the loss reaches directly."""
    masked = np.zeros((2, 5), "int32")
    live = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]], "int32")
    labels = np.ones((2, 5), "int32")
    meta = {"evaluate": _tagger(keras).evaluate(masked, labels, verbose=0, return_dict=True),
            "two_batches": _tagger(keras).evaluate(
                np.concatenate([masked, live]), np.concatenate([labels, labels]),
                batch_size=2, verbose=0, return_dict=True)}
    model = _tagger(keras)
    meta["train_on_batch"] = model.train_on_batch(masked, labels, return_dict=True)
    after = model.get_weights()
    meta["nan_after_step"] = [bool(np.isnan(w).any()) for w in after]
    ignore = keras.losses.SparseCategoricalCrossentropy(ignore_class=1)
    meta["ignore_class_all"] = float(ignore(labels, np.full((2, 5, 3), 1 / 3, "float32")))
    arrays = {f"after_{i}": w for i, w in enumerate(after) if not np.isnan(w).any()}
    meta = {k: {n: float(v) for n, v in d.items()} if isinstance(d, dict) else d
            for k, d in meta.items()}
    return arrays, meta


def case_single_element_lists(keras):
    """``Model([x], [y])`` is ``Model(x, y)``: calls and ``predict`` return one array."""
    x = keras.Input((2,))
    y = keras.layers.Dense(3, kernel_initializer="ones")(x)
    model = keras.Model([x], [y])
    data = np.ones((2, 2), "float32")
    called, predicted = model(data), model.predict(data, verbose=0)
    return ({"predicted": predicted},
            {"called_is_list": isinstance(called, (list, tuple)),
             "predicted": type(predicted).__name__, "output_is_list": isinstance(
                 model.output, list), "outputs": len(model.outputs)})


def _set_uniform(model, seed: int, scale: float = 0.5) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-scale, scale, w.shape).astype("float32")
                       for w in model.get_weights()])


def case_rnn_constraints(keras):
    """Recurrent kernel, recurrent-kernel and bias constraints are applied after every update
    (SGD ``fit``), through the fused LSTM and the step-loop GRU/SimpleRNN alike."""
    c = keras.constraints
    model = keras.Sequential([
        keras.layers.LSTM(4, return_sequences=True, kernel_constraint=c.MaxNorm(0.3),
                          recurrent_constraint=c.NonNeg(), bias_constraint=c.NonNeg(),
                          input_shape=(5, 3)),
        keras.layers.GRU(3, return_sequences=True, recurrent_constraint=c.UnitNorm(),
                         reset_after=False),
        keras.layers.SimpleRNN(2, kernel_constraint=c.MinMaxNorm(0.2, 0.4),
                               bias_constraint=c.MaxNorm(0.1)),
        keras.layers.Dense(1)])
    _set_uniform(model, 5)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 5, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    model.compile(keras.optimizers.SGD(0.2), "mse")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    config = model.layers[0].get_config()
    return arrays, {"loss": [float(v) for v in history.history["loss"]],
                    "lstm_constraints": [config[k]["class_name"] for k in (
                        "kernel_constraint", "recurrent_constraint", "bias_constraint")]}


def constants_cell(keras):
    """Keras 2's documented cell with constants: ``call(inputs, states, constants)``."""
    K = keras.backend

    class CellWithConstants(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units, self.state_size = units, units

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
            self.recurrent_kernel = self.add_weight(name="recurrent_kernel",
                                                    shape=(self.units, self.units))
            self.built = True

        def call(self, inputs, states, constants):
            [prev], [constant] = states, constants
            out = K.tanh(K.dot(inputs, self.kernel) + K.dot(prev, self.recurrent_kernel)
                         + constant)
            return out, [out]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return CellWithConstants


def constants_model(keras):
    """``RNN(cell)(x, constants=c)`` in a functional model with fixed weights."""
    x = keras.Input((4, 3), name="seq")
    c = keras.Input((2,), name="const")
    rnn = keras.layers.RNN(constants_cell(keras)(2), return_sequences=True, name="rnn")
    model = keras.Model([x, c], keras.layers.Dense(1, name="out")(rnn(x, constants=c)))
    _set_uniform(model, 9)
    return model


def constants_data():
    rng = np.random.default_rng(10)
    return ([rng.standard_normal((6, 4, 3)).astype("float32"),
             rng.standard_normal((6, 2)).astype("float32")],
            rng.standard_normal((6, 4, 1)).astype("float32"))


def case_rnn_constants(keras):
    """Keras 2's RNN ``constants``: the cell gets them each step, the graph records
    ``[inputs, constants]`` with ``num_constants``, and training reaches the cell's weights."""
    import json
    model = constants_model(keras)
    (x, c), y = constants_data()
    arrays = {"pred": model.predict([x, c], verbose=0)}
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit([x, c], y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    layers = json.loads(model.to_json())["config"]["layers"]
    entry = next(l for l in layers if l["class_name"] == "RNN")
    return arrays, {"num_constants": entry["config"]["num_constants"],
                    "inbound_nodes": entry["inbound_nodes"]}


def case_per_layer_mixed_precision(keras):
    """``Dense(4, dtype="mixed_float16")`` and ``dtype=Policy("mixed_bfloat16")`` in a float32
    model: half-precision compute, float32 weights, the policy in the layer config and the
    ``.h5``/JSON model config. Arrays named ``approx_*`` went through half precision."""
    import json
    policy = keras.mixed_precision.Policy("mixed_bfloat16")
    x_in = keras.Input((3,), name="x")
    half = keras.layers.Dense(4, activation="relu", dtype="mixed_float16", name="half")
    brain = keras.layers.Dense(3, dtype=policy, name="brain")
    full = keras.layers.Dense(1, name="full")
    h, b = half(x_in), None
    b = brain(h)
    model = keras.Model(x_in, [h, full(b)])
    _set_uniform(model, 12)
    x = np.random.default_rng(13).uniform(-1, 1, (5, 3)).astype("float32")
    h_out, y_out = model.predict(x, verbose=0)
    model.compile(keras.optimizers.SGD(0.1), ["mse", "mse"], loss_weights=[0.0, 1.0])
    model.fit(x, [h_out, np.ones((5, 1), "float32")], epochs=1, batch_size=5, verbose=0)
    layers = json.loads(model.to_json())["config"]["layers"]
    meta = {"symbolic": [str(getattr(t.dtype, "name", t.dtype)) for t in (h, b, model.outputs[1])],
            "predict": [str(h_out.dtype), str(y_out.dtype)],
            "attributes": {l.name: [l.dtype, l.compute_dtype, l.variable_dtype,
                                    l.dtype_policy.name] for l in (half, brain, full)},
            "config_dtype": {l.name: l.get_config()["dtype"] for l in (half, brain, full)},
            "json_dtype": {l["name"]: l["config"]["dtype"] for l in layers},
            "weight_dtypes": [str(w.dtype) for w in model.get_weights()]}
    arrays = {"approx_h": h_out.astype("float32"), "approx_y": y_out}
    arrays.update({f"approx_w{i}": w for i, w in enumerate(model.get_weights())})
    return arrays, meta


def case_global_mixed_policy(keras):
    """Layers built under ``set_global_policy("mixed_float16")`` take that policy (their config
    and the JSON say so); ``Input`` stays float32."""
    import json
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        x_in = keras.Input((3,), name="x")
        model = keras.Model(x_in, keras.layers.Dense(2, name="d")(x_in))
        _set_uniform(model, 14)
        out = model.predict(np.ones((2, 3), "float32"), verbose=0)
        layers = json.loads(model.to_json())["config"]["layers"]
        meta = {"json_dtype": {l["name"]: l["config"]["dtype"] for l in layers},
                "predict": str(out.dtype), "input": str(getattr(x_in.dtype, "name", x_in.dtype)),
                "dense": [model.layers[1].dtype, model.layers[1].compute_dtype]}
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return {"approx_out": out.astype("float32")}, meta


def case_int_through_lambda_and_custom_layers(keras):
    """tf.keras autocasts float inputs only: a Lambda or your own layer gets int ids as ints
    (int32 from an int32 Input, int64 from numpy), while Dense still takes ints."""

    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2

    seq = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Lambda(lambda t: t + 1)])
    i = keras.Input((5,), dtype="int32")
    functional = keras.Model(i, Twice()(i))
    eager = Twice()(IDS)
    dense = keras.layers.Dense(2, kernel_initializer="ones")(IDS)
    arrays = {"seq": seq.predict(IDS, verbose=0), "functional": functional.predict(IDS, verbose=0),
              "eager": np.asarray(eager), "dense": np.asarray(dense)}
    return arrays, {k: _dtype(v.dtype) for k, v in arrays.items()}


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}
