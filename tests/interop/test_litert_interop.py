"""LIVE: the real LiteRT interpreter (ai-edge-litert, .venvs/litert, no TensorFlow) runs the
``.tflite`` files ``model.export(path, format="litert")`` writes.

Every family of issue 11 (the tutorial MLP, functional and multi-input models, CNNs with
BatchNorm, Embedding models, fixed-length LSTM/GRU, MobileNet and MobileNetV2, plus the
recurrent variants, the attention layers and the remaining layers' lowerings) is exported and
run through the ``serving_default`` signature runner at batch 1 and at batch 5 (the dynamic
batch: ``resize_tensor_input`` + ``allocate_tensors``); each output is within 1e-4 of its
scale of ``model.predict``. The tutorial model, trained on the embedded MNIST sample, is also
exported with ``quantize="dynamic_int8"``: its accuracy change and file sizes are printed and
bounded, and a CNN's int8 convolution runs in the hybrid kernels. One interpreter process checks everything (litert_check.py), including savepoint's
hand-written schema numbers against the interpreter's generated schema."""

from __future__ import annotations

import os

import numpy as np
import pytest

import savepoint as keras
from interop_families import json_lines
from savepoint.exports.litert.schema import BUILTINS, OPTIONS, TENSOR_TYPES
from savepoint.utils import set_random_seed
from test_saved_model_write_interop import (activation_layers, cnn, functional_mlp,
                                            mobilenet, mobilenet_v2, sequence_cnn, text,
                                            two_in_two_out)
from venv_runners import ROOT, _interop_python, _run_script

LITERT_PYTHON = os.path.join(ROOT, ".venvs", "litert", "bin", "python")
L = keras.layers
RNG = np.random.default_rng(11)
BATCHES = (1, 5)


def mnist_tutorial() -> keras.Model:
    """The "Save and load models" tutorial's model."""
    model = keras.Sequential([L.Dense(512, activation="relu", input_shape=(784,)),
                              L.Dropout(0.2), L.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def recurrent() -> keras.Model:
    """Fixed-length LSTM (sequences) then GRU, as the recurrent lowering unrolls them."""
    x = keras.Input((6, 3), name="steps")
    h = L.LSTM(5, return_sequences=True)(x)
    h = L.GRU(4)(h)
    return keras.Model(x, L.Dense(2, name="out")(h))


def recurrent_more() -> keras.Model:
    """Masking, Bidirectional SimpleRNN, TimeDistributed, GRU without reset_after."""
    x = keras.Input((5, 3), name="steps")
    h = L.Bidirectional(L.SimpleRNN(3, return_sequences=True))(L.Masking(0.0)(x))
    h = L.GRU(4, reset_after=False)(L.TimeDistributed(L.Dense(4))(h))
    return keras.Model(x, L.Dense(2, name="out")(h))


def attention() -> keras.Model:
    """MultiHeadAttention (self), Attention, AdditiveAttention and Dot on two inputs."""
    q, v = keras.Input((4, 6), name="query"), keras.Input((5, 6), name="value")
    h = L.LayerNormalization()(L.Add()([L.MultiHeadAttention(2, 3)(q, q), q]))
    a, b = L.Attention(use_scale=True)([h, v]), L.AdditiveAttention()([h, v])
    d = L.Dot(axes=(2, 2))([h, v])
    merged = L.Concatenate()([L.Flatten()(a), L.Flatten()(b), L.Flatten()(d)])
    return keras.Model([q, v], L.Dense(3, name="out")(merged))


def misc_layers() -> keras.Model:
    """PReLU, Permute, RepeatVector, GroupNormalization, UnitNormalization, EinsumDense."""
    x = keras.Input((4, 6), name="x")
    h = L.GroupNormalization(2)(L.PReLU()(x))
    h = L.UnitNormalization()(L.Permute((2, 1))(h))
    h = L.EinsumDense("abc,cd->abd", output_shape=(6, 5), bias_axes="d")(h)
    r = L.RepeatVector(2)(L.Flatten()(h))
    return keras.Model(x, L.Dense(2, name="out")(L.Flatten()(r)))


def int8_cnn() -> keras.Model:
    """Large enough convolutions and a rank-3 Dense for dynamic_int8 to quantize."""
    x = keras.Input((10, 10, 16), name="image")
    h = L.BatchNormalization()(L.Conv2D(32, 3, padding="same", activation="relu")(x))
    h = L.Dense(48, activation="relu")(L.Reshape((25, 32))(L.MaxPooling2D(2)(h)))
    return keras.Model(x, L.Dense(10, name="out")(L.Flatten()(h)))


def _random_inputs(model: keras.Model, n: int) -> dict[str, np.ndarray]:
    out = {}
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        out[t._history[0].name] = RNG.integers(0, 20, shape).astype("int32") \
            if t.dtype == "int32" else RNG.normal(size=shape).astype("float32")
    return out


def _case(tmp_path, name: str, model: keras.Model, quantize: str | None = None,
          feeds: dict | None = None, labels: np.ndarray | None = None) -> dict:
    """Export ``model`` and store its inputs and predictions at each batch size."""
    path = str(tmp_path / f"{name}.tflite")
    model.export(path, format="litert", **({"quantize": quantize} if quantize else {}))
    arrays = {}
    for n in BATCHES if feeds is None else (len(labels),):
        xs = _random_inputs(model, n) if feeds is None else feeds
        x = [xs[k] for k in model.input_names]
        pred = model.predict(x[0] if len(x) == 1 else x, verbose=0)
        pred = pred if isinstance(pred, list) else [pred]
        arrays.update({f"in:{k}@{n}": v for k, v in xs.items()})
        arrays.update({f"out:{k}@{n}": p for k, p in zip(model.output_names, pred)})
        if labels is not None:
            arrays[f"labels@{n}"] = labels
    np.savez(str(tmp_path / f"{name}.npz"), **arrays)
    return {"name": name, "tflite": path, "npz": str(tmp_path / f"{name}.npz"),
            "outputs": sorted(model.output_names), "inputs": sorted(model.input_names),
            "size": os.path.getsize(path)}


def _families() -> dict:
    return {"functional_mlp": functional_mlp, "two_in_two_out": two_in_two_out, "cnn": cnn,
            "text": text, "activation_layers": activation_layers,
            "sequence_cnn": sequence_cnn, "recurrent": recurrent,
            "recurrent_more": recurrent_more, "attention": attention,
            "misc_layers": misc_layers, "mobilenet": mobilenet, "mobilenet_v2": mobilenet_v2}


def _mnist_cases(tmp_path, monkeypatch) -> list[dict]:
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    with pytest.warns(UserWarning):
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    set_random_seed(5)
    model = mnist_tutorial()
    model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    feeds = {model.input_names[0]: x_test[:2000]}
    return [_case(tmp_path, "tutorial", model, feeds=feeds, labels=y_test[:2000]),
            _case(tmp_path, "tutorial_int8", model, quantize="dynamic_int8", feeds=feeds,
                  labels=y_test[:2000])]


def test_litert_interpreter_runs_savepoint_tflite_files(tmp_path, monkeypatch):
    python = _interop_python(LITERT_PYTHON, "LiteRT")
    cases = _mnist_cases(tmp_path, monkeypatch)
    for name, factory in _families().items():
        set_random_seed(7)
        cases.append(_case(tmp_path, name, factory()))
    set_random_seed(7)
    cases.append(_case(tmp_path, "cnn_int8", int8_cnn(), quantize="dynamic_int8"))
    schema = {"builtins": {k: v[0] for k, v in BUILTINS.items()},
              "options": {k: [p, [f.split(":")[0] for f in fields]]
                          for k, (p, fields) in OPTIONS.items()},
              "tensor_types": TENSOR_TYPES}
    stdout = _run_script(python, "LiteRT", {}, "litert_check.py",
                         {"schema": schema, "cases": cases})
    lines = json_lines(stdout)
    assert lines[0] == {"schema_mismatches": []}
    assert [line for line in lines if "error" in line] == []
    by_case: dict[str, list] = {}
    for line in lines[1:]:
        by_case.setdefault(line["name"], []).append(line)
    assert sorted(by_case) == sorted(c["name"] for c in cases)
    for case in cases:
        runs = by_case[case["name"]]
        structure = runs[0]["structure"]
        assert structure["identifier"] == "TFL3" and structure["version"] == 3
        assert structure["size"] == case["size"]
        for run in runs:
            assert run["inputs"] == case["inputs"] and run["outputs"] == case["outputs"]
            for key, sig in run["shape_signatures"].items():
                assert sig[0] == -1, (case["name"], key, sig)  # the dynamic batch
            assert all(s[0] == run["batch"] for s in run["shapes"].values())
            # int8 weights: within 3% of the output scale (the tutorial's accuracy: below)
            tolerance = 0.03 if case["name"].endswith("_int8") else 1e-4
            for key, error in run["errors"].items():
                assert error <= tolerance * max(run["scales"][key], 1e-3), (case["name"], run)
        if not case["name"].endswith("_int8"):
            assert not structure["int8"]
        assert [r["batch"] for r in runs] == ([2000] if "tutorial" in case["name"]
                                              else list(BATCHES))
    _check_quantized(by_case, {c["name"]: c for c in cases})
    # the hybrid CONV_2D and a rank-3 FULLY_CONNECTED (keep_num_dims) run int8 weights too
    weights = by_case["cnn_int8"][0]["structure"]["int8"]
    assert sorted(w["shape"] for w in weights) == [[10, 1200], [32, 3, 3, 16], [48, 32]]
    assert all(w["scales"] == w["shape"][0] for w in weights)


def _check_quantized(by_case: dict, cases: dict) -> None:
    """dynamic_int8: both weights int8 per output channel; a quarter of the size; the
    accuracy on 2,000 test digits within 1 point of float32's."""
    (plain,), (int8,) = by_case["tutorial"], by_case["tutorial_int8"]
    weights = int8["structure"]["int8"]
    assert sorted(w["shape"] for w in weights) == [[10, 512], [512, 784]]
    assert all(w["scales"] == w["shape"][0] and w["dim"] == 0 for w in weights)
    assert "FULLY_CONNECTED" in int8["structure"]["opcodes"]
    ratio = cases["tutorial_int8"]["size"] / cases["tutorial"]["size"]
    print(f"\nLiteRT tutorial MNIST (2,000 embedded test digits): float32 "
          f"{plain['accuracy']:.4f} ({cases['tutorial']['size']:,} bytes), dynamic_int8 "
          f"{int8['accuracy']:.4f} ({cases['tutorial_int8']['size']:,} bytes, {ratio:.2f}x); "
          f"largest logit change {int8['errors']['dense_1']:.4f} (scale "
          f"{int8['scales']['dense_1']:.1f})")
    assert plain["accuracy"] > 0.85
    assert abs(int8["accuracy"] - plain["accuracy"]) <= 0.01
    assert 0.24 < ratio < 0.3
    assert int8["errors"]["dense_1"] <= 0.05 * int8["scales"]["dense_1"]
