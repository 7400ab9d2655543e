"""Regenerate the recurrent-layer goldens in tests/fixtures/goldens/rnn/ with REAL tf-keras
(numbers, Keras 2 configs, a TF checkpoint and an .h5 of a model) and Keras 3 (configs, .keras).

Run from the repository root:

    .venv/bin/python tools/make_rnn_goldens.py          # runs itself in both interop venvs

or one side: ``.venvs/tf/bin/python tools/make_rnn_goldens.py tf_keras`` /
``.venvs/keras3/bin/python tools/make_rnn_goldens.py keras3``.

A case is a layer spec (``{"class": ..., "kwargs": ...}``, nested for cells and wrappers), an
input shape and call options (a mask pattern, random initial states). The tf-keras side sets
seeded weights and records in ``rnn.npz``: ``<case>/x`` (``mask``, ``s<i>``), ``w<i>``, the
outputs ``y<i>`` and the gradients ``dx``/``dw<i>`` of ``sum(y_i * r_i)``; ``rnn.keras2.json``
holds each case's spec, ``get_config()`` and weight names. ``seq_*`` cases are Sequential models
(Embedding(mask_zero) / Masking feeding recurrent layers), ``stateful`` calls a stateful LSTM
twice. ``interop/`` holds a model saved by tf-keras as a TF checkpoint and an .h5 (and its
predictions), and by Keras 3 as a .keras file. ``rnn.keras3.json`` holds Keras 3 configs.
"""

from __future__ import annotations

import json
import os

from _goldens import ROOT, run_sides, write_json

OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "rnn")


def L(cls: str, **kwargs) -> dict:
    return {"class": cls, "kwargs": kwargs}


# (case, spec, input shape (time, features), options: mask ("right"/"mixed"), states (sizes))
CASES = [
    ("lstm", L("LSTM", units=4), (5, 3), {}),
    ("lstm_seq_state", L("LSTM", units=4, return_sequences=True, return_state=True), (5, 3),
     {}),
    ("lstm_backwards", L("LSTM", units=3, go_backwards=True, return_sequences=True), (4, 2), {}),
    ("lstm_initial_state", L("LSTM", units=3, return_sequences=True), (4, 2),
     {"states": [3, 3]}),
    ("lstm_mask_right", L("LSTM", units=3, return_sequences=True, return_state=True), (5, 2),
     {"mask": "right"}),
    ("lstm_mask_mixed", L("LSTM", units=3, return_sequences=True), (5, 2), {"mask": "mixed"}),
    ("lstm_mask_backwards", L("LSTM", units=3, go_backwards=True, return_sequences=True),
     (5, 2), {"mask": "right"}),
    ("lstm_activations", L("LSTM", units=3, activation="relu",
                           recurrent_activation="hard_sigmoid", return_sequences=True), (4, 2),
     {}),
    ("lstm_no_bias", L("LSTM", units=3, use_bias=False, unit_forget_bias=False), (4, 2), {}),
    ("lstm_dropout_inference", L("LSTM", units=3, dropout=0.5, recurrent_dropout=0.3), (4, 2),
     {}),
    ("lstm_unroll", L("LSTM", units=3, unroll=True, return_sequences=True), (4, 2), {}),
    ("gru", L("GRU", units=4, return_sequences=True, return_state=True), (5, 3), {}),
    ("gru_reset_before", L("GRU", units=3, reset_after=False, return_sequences=True), (4, 2),
     {}),
    ("gru_backwards_state", L("GRU", units=3, go_backwards=True, return_sequences=True),
     (4, 2), {"states": [3]}),
    ("gru_mask_right", L("GRU", units=3, return_sequences=True), (5, 2), {"mask": "right"}),
    ("gru_reset_before_mask", L("GRU", units=3, reset_after=False), (5, 2), {"mask": "mixed"}),
    ("gru_no_bias", L("GRU", units=3, use_bias=False), (4, 2), {}),
    ("simple_rnn", L("SimpleRNN", units=4, return_sequences=True), (5, 3), {}),
    ("simple_rnn_relu_state", L("SimpleRNN", units=3, activation="relu", return_state=True),
     (4, 2), {"states": [3]}),
    ("simple_rnn_sigmoid_mask", L("SimpleRNN", units=3, activation="sigmoid",
                                  return_sequences=True), (5, 2), {"mask": "right"}),
    ("rnn_lstm_cell", L("RNN", cell=L("LSTMCell", units=3), return_state=True), (4, 2), {}),
    ("rnn_stacked", L("RNN", cell=L("StackedRNNCells", cells=[
        L("SimpleRNNCell", units=3), L("LSTMCell", units=2), L("GRUCell", units=2)]),
        return_sequences=True, return_state=True), (4, 2), {}),
    ("rnn_cell_list", L("RNN", cell=[L("GRUCell", units=2, reset_after=False),
                                     L("LSTMCell", units=2)], go_backwards=True), (4, 3),
     {"mask": "right"}),
    ("bidi_concat", L("Bidirectional", layer=L("LSTM", units=3, return_sequences=True)), (4, 2),
     {}),
    ("bidi_sum", L("Bidirectional", layer=L("GRU", units=3), merge_mode="sum"), (4, 2), {}),
    ("bidi_mul", L("Bidirectional", layer=L("SimpleRNN", units=3, return_sequences=True),
                   merge_mode="mul"), (4, 2), {}),
    ("bidi_ave_mask", L("Bidirectional", layer=L("LSTM", units=2, return_sequences=True),
                        merge_mode="ave"), (5, 2), {"mask": "right"}),
    ("bidi_none_state", L("Bidirectional", layer=L("LSTM", units=2, return_state=True),
                          merge_mode=None), (4, 2), {"states": [2, 2, 2, 2]}),
    ("bidi_concat_mask_last", L("Bidirectional", layer=L("GRU", units=2)), (5, 2),
     {"mask": "right"}),
    ("time_distributed", L("TimeDistributed", layer=L("Dense", units=3, activation="tanh")),
     (4, 2), {}),
    ("rnn_stacked_mask_state", L("RNN", cell=[L("SimpleRNNCell", units=2),
                                              L("LSTMCell", units=2)], return_sequences=True,
                                 return_state=True), (5, 2),
     {"mask": "mixed", "states": [2, [2, 2]]}),
    ("lstm_backwards_mask_state", L("LSTM", units=3, go_backwards=True, return_sequences=True,
                                    return_state=True), (5, 2),
     {"mask": "right", "states": [3, 3]}),
    ("gru_reset_before_dropout_inference", L("GRU", units=3, reset_after=False, dropout=0.3,
                                             recurrent_dropout=0.4, go_backwards=True), (4, 2),
     {}),
]

# Sequential models: (case, layer specs, input shape, integer inputs?)
SEQUENTIAL = [
    ("seq_embedding_mask", [L("Embedding", input_dim=10, output_dim=3, mask_zero=True),
                            L("LSTM", units=3, return_sequences=True),
                            L("GRU", units=2)], (6,), True),
    ("seq_masking_bidi", [L("Masking", mask_value=0.0),
                          L("Bidirectional", layer=L("LSTM", units=2, return_sequences=True)),
                          L("TimeDistributed", layer=L("Dense", units=2))], (5, 3), False),
]


def _make(spec, k):
    if isinstance(spec, list):
        return [_make(s, k) for s in spec]
    if not (isinstance(spec, dict) and "class" in spec):
        return spec
    kwargs = {key: _make(v, k) for key, v in spec["kwargs"].items()}
    return getattr(k.layers, spec["class"])(**kwargs)


def _mask(kind, batch, steps, rng):
    import numpy as np
    if kind == "right":
        lengths = np.array([steps, max(1, steps - 2), 1][:batch])
        return np.arange(steps)[None] < lengths[:, None]
    mask = rng.random((batch, steps)) > 0.35
    mask[:, 0] = True
    mask[0, -1] = False
    return mask


def _tf_keras_side() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf
    import tf_keras as k

    arrays, meta = {}, {}

    def weights_for(layer, rng):
        return [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in layer.weights]

    for index, (case, spec, shape, opts) in enumerate(CASES):
        rng = np.random.default_rng(2000 + index)
        k.backend.clear_session()
        layer = _make(spec, k)
        batch = 3
        x = rng.standard_normal((batch,) + shape).astype("float32")
        kwargs = {}
        if "mask" in opts:
            mask = _mask(opts["mask"], batch, shape[0], rng)
            kwargs["mask"] = tf.constant(mask)
            arrays[f"{case}/mask"] = mask
        sizes = opts.get("states", [])  # nested like the cell's state_size (stacked cells)
        flat_sizes = [s for group in sizes for s in (group if isinstance(group, list)
                                                      else [group])]
        states = [rng.standard_normal((batch, s)).astype("float32") for s in flat_sizes]
        if states:
            it = iter(states)
            kwargs["initial_state"] = [[tf.constant(next(it)) for _ in g]
                                       if isinstance(g, list) else tf.constant(next(it))
                                       for g in sizes]
            for i, s in enumerate(states):
                arrays[f"{case}/s{i}"] = s
        layer(tf.constant(x), **kwargs)
        weights = weights_for(layer, rng)
        layer.set_weights(weights)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            ys = layer(xt, training=False, **kwargs)
            structure = tf.nest.map_structure(lambda t: list(t.shape), ys)
            ys = tf.nest.flatten(ys)
            rs = [tf.constant(rng.standard_normal(y.shape).astype("float32")) for y in ys]
            loss = tf.add_n([tf.reduce_sum(y * r) for y, r in zip(ys, rs)])
        grads = tape.gradient(loss, [xt] + layer.trainable_weights)
        arrays[f"{case}/x"], arrays[f"{case}/dx"] = x, grads[0].numpy()
        for i, (y, r) in enumerate(zip(ys, rs)):
            arrays[f"{case}/y{i}"], arrays[f"{case}/r{i}"] = y.numpy(), r.numpy()
        for i, (w, g) in enumerate(zip(weights, grads[1:])):
            arrays[f"{case}/w{i}"], arrays[f"{case}/dw{i}"] = w, tf.convert_to_tensor(g).numpy()
        meta[case] = {"spec": spec, "input_shape": list(shape), "options": opts,
                      "outputs": len(ys), "structure": structure,
                      "config": k.layers.serialize(layer),
                      "weight_names": [w.name for w in layer.weights]}

    for index, (case, specs, shape, ints) in enumerate(SEQUENTIAL):
        rng = np.random.default_rng(3000 + index)
        k.backend.clear_session()
        model = k.Sequential([k.Input(shape, dtype="int32" if ints else "float32")] +
                             _make(specs, k))
        if ints:
            x = rng.integers(1, 10, (3,) + shape).astype("int32")
            x[0, 3:] = 0
            x[1, 1:] = 0
        else:
            x = rng.standard_normal((3,) + shape).astype("float32")
            x[0, 2:] = 0.0
            x[2, -1] = 0.0
        weights = weights_for(model, rng)
        model.set_weights(weights)
        with tf.GradientTape() as tape:
            y = model(tf.constant(x), training=False)
            r = tf.constant(rng.standard_normal(y.shape).astype("float32"))
            loss = tf.reduce_sum(y * r)
        grads = tape.gradient(loss, model.trainable_weights)
        arrays[f"{case}/x"], arrays[f"{case}/y0"], arrays[f"{case}/r0"] = x, y.numpy(), r.numpy()
        for i, (w, g) in enumerate(zip(weights, grads)):
            arrays[f"{case}/w{i}"] = w
            arrays[f"{case}/dw{i}"] = tf.convert_to_tensor(g).numpy()
        meta[case] = {"specs": specs, "input_shape": list(shape), "ints": ints,
                      "model_config": json.loads(model.to_json()),
                      "weight_names": [w.name for w in model.weights]}

    # stateful: two calls carry the state; reset_states() starts again from zeros
    rng = np.random.default_rng(4000)
    k.backend.clear_session()
    layer = k.layers.LSTM(3, stateful=True, return_sequences=True)
    model = k.Sequential([k.Input(batch_shape=(2, 4, 2)), layer])
    weights = weights_for(model, rng)
    model.set_weights(weights)
    x1, x2 = (rng.standard_normal((2, 4, 2)).astype("float32") for _ in range(2))
    y1, y2 = model(x1).numpy(), model(x2).numpy()
    model.reset_states()
    y3 = model(x2).numpy()
    arrays.update({"stateful/x1": x1, "stateful/x2": x2, "stateful/y1": y1,
                   "stateful/y2": y2, "stateful/y3": y3})
    for i, w in enumerate(weights):
        arrays[f"stateful/w{i}"] = w
    meta["stateful"] = {"model_config": json.loads(model.to_json())}

    np.savez_compressed(os.path.join(OUT, "rnn.npz"), **arrays)
    write_json(os.path.join(OUT, "rnn.keras2.json"), meta)
    _tf_interop(k, tf, np)


def _interop_model(k):
    inp = k.Input((5, 3), name="x")
    h = k.layers.LSTM(4, return_sequences=True, name="lstm")(inp)
    h = k.layers.Bidirectional(k.layers.GRU(2, return_sequences=True), name="bidi")(h)
    h = k.layers.TimeDistributed(k.layers.Dense(2), name="td")(h)
    h = k.layers.RNN(k.layers.StackedRNNCells([k.layers.SimpleRNNCell(2),
                                               k.layers.LSTMCell(3)]), name="stack")(h)
    out = k.layers.Dense(1, name="head")(h)
    return k.Model(inp, out, name="rnn_interop")


def _tf_interop(k, tf, np) -> None:
    """A model trained two steps by tf-keras, saved as TF checkpoint and .h5."""
    rng = np.random.default_rng(5000)
    k.backend.clear_session()
    tf.random.set_seed(0)
    model = _interop_model(k)
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
    x = rng.standard_normal((4, 5, 3)).astype("float32")
    y = rng.standard_normal((4, 1)).astype("float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    out = os.path.join(OUT, "interop")
    os.makedirs(out, exist_ok=True)
    model.save_weights(os.path.join(out, "tf_ckpt", "cp.ckpt"))
    model.save(os.path.join(out, "tf_model.h5"))
    reader = tf.train.load_checkpoint(os.path.join(out, "tf_ckpt", "cp.ckpt"))
    keys = sorted(reader.get_variable_to_shape_map())
    np.savez_compressed(os.path.join(out, "tf_predictions.npz"), x=x, y=model.predict(x, verbose=0))
    with open(os.path.join(out, "tf_ckpt_keys.json"), "w") as f:
        json.dump(keys, f, indent=1)


def _keras3_side() -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np
    import keras as k

    meta = {}
    for case, spec, shape, _ in CASES:
        model = k.Sequential([k.Input(shape), _make(spec, k)], name="seq")
        meta[case] = {"model_config": k.saving.serialize_keras_object(model),
                      "weight_shapes": [list(w.shape) for w in model.weights]}
    write_json(os.path.join(OUT, "rnn.keras3.json"), meta, default=str)
    rng = np.random.default_rng(6000)
    model = _interop_model(k)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                       for w in model.weights])
    x = rng.standard_normal((4, 5, 3)).astype("float32")
    out = os.path.join(OUT, "interop")
    os.makedirs(out, exist_ok=True)
    model.save(os.path.join(out, "keras3_model.keras"))
    np.savez_compressed(os.path.join(out, "keras3_predictions.npz"), x=x,
                        y=np.asarray(model.predict(x, verbose=0)))


def main() -> None:
    run_sides(__file__, OUT, _tf_keras_side, _keras3_side)


if __name__ == "__main__":
    main()
