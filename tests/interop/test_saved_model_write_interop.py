"""LIVE: TensorFlow opens the SavedModels savepoint writes without TensorFlow.

For each model family: ``tf.saved_model.load(d).signatures["serving_default"]`` (dynamic batch),
``saved_model_cli show``/``run`` (the TF1 session loader with the saver's restore ops) and
``tf.keras.models.load_model(d)`` (same weights bit for bit, predictions, evaluate results and
compile config; it trains on). The static op table is compared with TF's OpDef registry. One
TensorFlow process checks everything (tf_check_saved_model.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.exports.lowering.ops import OPS
from savepoint.saving.handlers.saved_model_writer import write_saved_model
from savepoint.utils import set_random_seed
from venv_runners import ROOT, _interop_python, _run_in_tf, TF_PYTHON

RNG = np.random.default_rng(10)
L = keras.layers


def tutorial_mlp() -> keras.Model:
    model = keras.Sequential([L.Dense(32, activation="relu", input_shape=(20,)),
                              L.Dropout(0.2), L.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def functional_mlp() -> keras.Model:
    x = keras.Input((4, 5), name="pixels")
    h = L.Dense(16, activation="tanh")(L.Flatten()(x))
    h = L.Activation("sigmoid")(L.Dense(8, activation="elu")(L.Dropout(0.1)(h)))
    out = L.Dense(3, activation="softmax", name="probs")(h)
    model = keras.Model(x, out)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def two_in_two_out() -> keras.Model:
    a, b = keras.Input((6,), name="b_second"), keras.Input((3,), name="a_first")
    h = L.Concatenate()([L.Dense(5, activation="swish")(a), b])
    h = L.Add()([L.Dense(4, activation="gelu")(h), L.Dense(4, activation="leaky_relu")(h)])
    return keras.Model([a, b], [L.Dense(2, name="z_out")(h), L.Dense(1, name="y_out")(h)])


def cnn() -> keras.Model:
    """Conv2D (same/valid, strides, dilation), depthwise, pooling, BatchNorm (fused), GAP."""
    x = keras.Input((12, 12, 3), name="image")
    h = L.Conv2D(8, 3, padding="same", activation="relu6")(x)
    h = L.BatchNormalization()(h)
    h = L.Conv2D(8, 3, strides=2, padding="valid", activation="selu")(h)
    h = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="softplus")(h)
    h = L.Conv2D(6, 2, dilation_rate=2, padding="same")(h)
    h = L.AveragePooling2D(2, padding="same")(L.MaxPooling2D(2, strides=1)(h))
    h = L.Concatenate()([L.GlobalAveragePooling2D()(h), L.GlobalMaxPooling2D()(h)])
    h = L.BatchNormalization(center=False)(L.Dense(12, activation="leaky_relu")(h))
    model = keras.Model(x, L.Dense(4, activation="softmax", name="classes")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def text() -> keras.Model:
    """Embedding (GatherV2), LayerNormalization (rank 3 and multi-axis), Dense on rank 3,
    global pooling 1D, Reshape, Multiply, activations."""
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    e = L.LayerNormalization()(L.Embedding(20, 6)(tokens))
    h = L.Dense(6, activation="gelu")(e)
    h = L.Multiply()([h, L.Activation("swish")(e)])
    h = L.LayerNormalization(axis=[1, 2], scale=False)(h)
    r = L.Reshape((3, 14))(h)
    pooled = L.Concatenate()([L.GlobalAveragePooling1D()(h), L.GlobalMaxPooling1D()(r)])
    model = keras.Model(tokens, L.Dense(3, activation="tanh", name="score")(pooled))
    model.compile(optimizer="rmsprop", loss="mse")
    return model


def activation_layers() -> keras.Model:
    """Activation layers with options, the other merges, and a nested Sequential (inlined)."""
    x = keras.Input((6,), name="x")
    block = keras.Sequential([L.Dense(6, activation="sigmoid", input_shape=(6,)), L.ELU(0.5)],
                             name="block")
    a, b = L.ReLU(max_value=6.0)(x), L.ReLU(negative_slope=0.1)(x)
    c, d = L.ReLU(max_value=2.0)(x), L.LeakyReLU(0.3)(block(x))
    h = L.Average()([L.Subtract()([a, b]), L.Maximum()([c, d]), L.Minimum()([a, d])])
    return keras.Model(x, L.Softmax(name="soft")(L.Dense(4)(h)))


class Doubler(L.Layer):
    def call(self, x):
        return x * 2


def custom_layer() -> keras.Model:
    """A layer with no lowering: no signature, but tf.keras opens it with custom_objects."""
    x = keras.Input((5,), name="x")
    return keras.Model(x, L.Dense(2, name="out")(Doubler(name="doubler")(L.Dense(3)(x))))


def sequence_cnn() -> keras.Model:
    """Conv1D (same, causal with dilation, strided valid), 1D pooling, SeparableConv2D."""
    series = keras.Input((16, 3), name="series")
    h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(series)
    h = L.MaxPooling1D(2)(L.Conv1D(5, 3, padding="same")(h))
    h = L.AveragePooling1D(2, padding="same")(L.Conv1D(4, 2, strides=2)(h))
    image = keras.Input((9, 9, 2), name="image")
    g = L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", activation="tanh")(image)
    g = L.SeparableConv2D(3, 3, strides=2)(g)
    merged = L.Concatenate()([L.Flatten()(h), L.GlobalAveragePooling2D()(g)])
    return keras.Model([series, image], L.Dense(2, name="out")(merged))


def mobilenet() -> keras.Model:
    """A Keras Application: MobileNet (ZeroPadding2D, ReLU(6), depthwise, BatchNorm, Reshape)."""
    return keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None,
                                        classes=4)


def mobilenet_v2() -> keras.Model:
    """MobileNetV2: inverted residuals (Add), ReLU(6), ZeroPadding2D, a Dense top."""
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
                                          classes=4)


def nested_applications() -> keras.Model:
    """Both MobileNets as nested models of one functional model (transfer learning's shape;
    their layers share names such as ``input_1``, resolved per nested model)."""
    x = keras.Input((32, 32, 3), name="image")
    v1, v2 = mobilenet(), mobilenet_v2()
    return keras.Model(x, [L.Activation("linear", name="v1")(v1(x)),
                           L.Activation("linear", name="v2")(v2(x))])


def rnn() -> keras.Model:
    """LSTM and GRU over 5 fixed steps: unrolled in the signature (lowering/recurrent.py)."""
    x = keras.Input((5, 3), name="steps")
    h = L.GRU(4, return_sequences=True)(L.LSTM(4, return_sequences=True)(x))
    return keras.Model(x, L.Dense(2, name="out")(L.GlobalAveragePooling1D()(h)))


def _inputs(model: keras.Model, n: int) -> dict[str, np.ndarray]:
    out = {}
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        out[t._history[0].name] = RNG.integers(0, 20, shape).astype("int32") \
            if t.dtype == "int32" else RNG.normal(size=shape).astype("float32")
    return out


def _case(tmp_path, name: str, model: keras.Model, classes: bool = True,
          via_save: bool = False, signature: bool = True) -> dict:
    set_random_seed(3)
    xs = _inputs(model, 24)
    x = [xs[n] for n in model.input_names]
    x = x[0] if len(x) == 1 else x
    arrays = {f"in:{k}": v for k, v in xs.items()}
    compiled = getattr(model, "optimizer", None) is not None
    if compiled:
        units = model.outputs[0].shape[-1]
        y = RNG.integers(0, units, 24) if classes else \
            RNG.normal(size=(24, units)).astype("float32")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        arrays["y"] = y
        result = model.evaluate(x, y, verbose=0)
        arrays["eval"] = np.asarray(result if isinstance(result, list) else [result])
        arrays["opt_class"] = type(model.optimizer).__name__
        arrays["lr"] = float(model.optimizer.learning_rate)
    pred = model.predict(x, verbose=0)
    pred = pred if isinstance(pred, list) else [pred]
    arrays.update({f"out:{k}": p for k, p in zip(model.output_names, pred)})
    arrays["input_order"] = np.asarray([f"in:{n}" for n in model.input_names])
    arrays["output_order"] = np.asarray([f"out:{n}" for n in model.output_names])
    weights = model.get_weights()
    arrays.update({f"w{i}": w for i, w in enumerate(weights)}, n_weights=len(weights))
    d = str(tmp_path / name)
    if via_save:  # savepoint's model directory, with TF's files beside its own
        model.save(d)
        assert keras.models.load_model(d).predict(x, verbose=0).shape == pred[0].shape
    else:
        write_saved_model(model, d)
    np.savez(str(tmp_path / f"{name}.npz"), **arrays)
    return {"dir": d, "npz": str(tmp_path / f"{name}.npz"), "compiled": compiled,
            "signature": signature}


def _ops_table() -> dict:
    return {name: [list(spec.outputs), spec.attrs] for name, spec in OPS.items()}


def test_tf_loaders_open_savepoint_saved_models(tmp_path):
    python = _interop_python(TF_PYTHON, "TensorFlow")
    cases = [_case(tmp_path, "mlp", tutorial_mlp()),
             _case(tmp_path, "functional", functional_mlp()),
             _case(tmp_path, "two_io", two_in_two_out()),
             _case(tmp_path, "cnn", cnn()), _case(tmp_path, "text", text(), classes=False),
             _case(tmp_path, "activations", activation_layers()),
             _case(tmp_path, "model_save", cnn(), via_save=True),
             _case(tmp_path, "sequence_cnn", sequence_cnn()),
             _case(tmp_path, "mobilenet", mobilenet()),
             _case(tmp_path, "mobilenet_v2", mobilenet_v2()),
             _case(tmp_path, "nested", nested_applications())]
    with pytest.warns(UserWarning, match="'doubler' \\(Doubler\\)"):
        cases.append(_case(tmp_path, "custom", custom_layer(), signature=False))
    cases.append(_case(tmp_path, "rnn", rnn()))
    cli = os.path.join(os.path.dirname(python), "saved_model_cli")
    out = _run_in_tf(python, "tf_check_saved_model.py",
                     {"cases": cases, "ops": _ops_table(), "cli": cli})
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["dir"] for r in reports] == ["mlp", "functional", "two_io", "cnn", "text",
                                              "activations", "model_save", "sequence_cnn",
                                              "mobilenet",
                                              "mobilenet_v2", "nested", "custom", "rnn"]
    for report in reports:
        assert report["signature"] <= 1e-5 and report["cli"] <= 1e-5
