"""LIVE: the real LiteRT interpreter (ai-edge-litert, .venvs/litert, no TensorFlow) runs the
``.tflite`` files ``model.export(path, format="litert")`` writes.

Every family of issue 11 (the tutorial MLP, functional and multi-input models, CNNs with
BatchNorm, Embedding models, fixed-length LSTM/GRU, MobileNet and MobileNetV2, plus the
recurrent variants, the attention layers, the other spatial and preprocessing layers and the
remaining layers' lowerings) is exported and
run through the ``serving_default`` signature runner at batch 1 and at batch 5 (the dynamic
batch: ``resize_tensor_input`` + ``allocate_tensors``); each output is within 1e-4 of its
scale of ``model.predict``. The tutorial model, trained on the embedded MNIST sample, is also
exported with ``quantize="dynamic_int8"``: its accuracy change and file sizes are printed and
bounded, and a CNN's int8 convolutions run in the hybrid kernels. One interpreter process
checks everything (litert_check.py), including savepoint's hand-written schema numbers against
the interpreter's generated schema."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

import savepoint as keras
from interop_families import json_lines
from savepoint.exports.litert.schema import BUILTINS, OPTIONS, TENSOR_TYPES
from savepoint.utils import set_random_seed
import test_saved_model_attention_lowering_interop as attention_models
import test_saved_model_rnn_lowering_interop as rnn_models
from test_saved_model_spatial_lowering_interop import categories, channels_first
from test_saved_model_write_interop import activation_layers, sequence_cnn
from venv_runners import ROOT, _interop_python, _run_script

sys.path.insert(0, os.path.join(ROOT, "tests", "exports"))
from export_families import FAMILIES, build, input_names, inputs_for  # noqa: E402

LITERT_PYTHON = os.path.join(ROOT, ".venvs", "litert", "bin", "python")
L = keras.layers
BATCHES = (1, 5)


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


def spatial_more() -> keras.Model:
    """Transposed convs (1-D, 2-D dilated too, 3-D: their output shape packs the dynamic
    batch), Conv3D, 3-D pooling (two separable 2-D pools), upsampling, cropping, resizing,
    3-D padding."""
    x = keras.Input((6, 6, 3), name="image")
    h = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    h = L.Cropping2D(((1, 0), (0, 1)))(L.UpSampling2D(2)(h))
    h = L.Conv2DTranspose(3, 3, dilation_rate=2, padding="same")(h)  # taps spread apart
    r, n = L.Resizing(5, 7)(h), L.Resizing(4, 4, interpolation="nearest")(h)
    v = keras.Input((4, 4, 4, 2), name="volume")
    g = L.Conv3D(3, 2, padding="same", activation="relu")(L.ZeroPadding3D(1)(v))
    g = L.MaxPooling3D(2)(L.Conv3DTranspose(2, 2, strides=2)(g))
    g = L.AveragePooling3D(2, padding="same")(L.UpSampling3D(2)(L.Cropping3D(1)(g)))
    s = keras.Input((8, 3), name="series")
    t = L.Conv1DTranspose(2, 3, strides=2)(L.UpSampling1D(2)(s))
    merged = L.Concatenate()([L.Flatten()(r), L.Flatten()(n), L.Flatten()(g), L.Flatten()(t)])
    return keras.Model([x, v, s], L.Dense(3, name="out")(merged))


def preprocessing() -> keras.Model:
    """Normalization, Rescaling, Discretization (multi-hot: Bucketize, OneHot), CenterCrop."""
    x = keras.Input((4,), name="x")
    h = L.Normalization(mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 2.0, 3.0, 4.0])(x)
    h = L.Rescaling(0.5, offset=0.1)(h)
    d = L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="multi_hot")(h)
    image = keras.Input((8, 8, 3), name="pixels")
    return keras.Model([x, image], [L.Dense(2, name="a")(L.Concatenate()([h, d])),
                                    L.Flatten(name="b")(L.CenterCrop(4, 4)(image))])


def any_length() -> keras.Model:
    """A sequence model of any length: ``input_signature`` fixes it for TFLite."""
    x = keras.Input((None, 3), name="steps")
    h = L.GlobalMaxPooling1D()(L.Conv1D(4, 3, padding="same", activation="relu")(x))
    return keras.Model(x, L.Dense(2, name="out")(h))


def int8_cnn() -> keras.Model:
    """Large enough convolutions and a rank-3 Dense for dynamic_int8 to quantize."""
    x = keras.Input((10, 10, 16), name="image")
    h = L.BatchNormalization()(L.Conv2D(32, 3, padding="same", activation="relu")(x))
    h = L.Conv2D(32, 1)(L.DepthwiseConv2D(3, padding="same", depth_multiplier=4)(h))
    h = L.Dense(48, activation="relu")(L.Reshape((25, 32))(L.MaxPooling2D(2)(h)))
    return keras.Model(x, L.Dense(10, name="out")(L.Flatten()(h)))


def _case(tmp_path, name: str, model: keras.Model, quantize: str | None = None,
          feeds: Any = None, labels: np.ndarray | None = None, **options: Any) -> dict:
    """Export ``model`` and store its inputs and predictions at each batch size (``feeds``:
    the inputs by name, or a function of the batch size giving them)."""
    path = str(tmp_path / f"{name}.tflite")
    model.export(path, format="litert", **({"quantize": quantize} if quantize else {}),
                 **options)
    arrays = {}
    for n in BATCHES if labels is None else (len(labels),):
        xs = dict(zip(input_names(model), inputs_for(model, n, seed=n))) if feeds is None \
            else feeds(n) if callable(feeds) else feeds
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
    """Issue 11's families (the tutorial MLP aside: trained on MNIST below) and more layers."""
    families = {k: v for k, v in FAMILIES.items() if k != "tutorial_mlp"}
    return {**families, "activation_layers": activation_layers, "sequence_cnn": sequence_cnn,
            "recurrent_more": recurrent_more, "attention": attention,
            "misc_layers": misc_layers, "spatial_more": spatial_more,
            "preprocessing": preprocessing, "categories": categories,
            "channels_first": channels_first, "transformer": attention_models.transformer,
            "embedding_masks": attention_models.embedding_masks,
            "tf_ops": attention_models.tf_ops, "rnn_states": rnn_models.states,
            "rnn_masked": rnn_models.masked}


def _mnist_cases(tmp_path, monkeypatch) -> list[dict]:
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    with pytest.warns(UserWarning):
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    set_random_seed(5)
    model = FAMILIES["tutorial_mlp"]()
    model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    feeds = {model.input_names[0]: x_test[:2000]}
    return [_case(tmp_path, "tutorial", model, feeds=feeds, labels=y_test[:2000]),
            _case(tmp_path, "tutorial_int8", model, quantize="dynamic_int8", feeds=feeds,
                  labels=y_test[:2000])]


def test_litert_interpreter_runs_savepoint_tflite_files(tmp_path, monkeypatch):
    python = _interop_python(LITERT_PYTHON, "LiteRT")
    cases = _mnist_cases(tmp_path, monkeypatch)
    for name, factory in _families().items():
        cases.append(_case(tmp_path, name, build(factory)))
    cases.append(_case(tmp_path, "cnn_int8", build(int8_cnn), quantize="dynamic_int8"))
    steps = {n: np.random.default_rng(n).normal(size=(n, 7, 3)).astype("float32")
             for n in BATCHES}
    cases.append(_case(tmp_path, "any_length", build(any_length), input_signature=[(None, 7, 3)],
                       feeds=lambda n: {"steps": steps[n]}))
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
        worst = max(e / max(r["scales"][k], 1e-3) for r in runs for k, e in r["errors"].items())
        print(f"{case['name']}: {case['size']:,} bytes, {len(runs[0]['structure']['opcodes'])} "
              f"op kinds, largest error / output scale {worst:.1e}")
        structure = runs[0]["structure"]
        assert structure["identifier"] == "TFL3" and structure["version"] == 3
        assert structure["size"] == case["size"]
        for run in runs:
            assert run["inputs"] == case["inputs"] and run["outputs"] == case["outputs"]
            for key, sig in run["shape_signatures"].items():
                assert sig[0] == -1, (case["name"], key, sig)  # the dynamic batch
            assert all(s[0] == run["batch"] for s in run["shapes"].values())
            # int8 weights: within 5% of the output scale (the tutorial's accuracy: below)
            tolerance = 0.05 if case["name"].endswith("_int8") else 1e-4
            for key, error in run["errors"].items():
                assert error <= tolerance * max(run["scales"][key], 1e-3), (case["name"], run)
        if not case["name"].endswith("_int8"):
            assert not structure["int8"]
        assert [r["batch"] for r in runs] == ([2000] if "tutorial" in case["name"]
                                              else list(BATCHES))
    _check_quantized(by_case, {c["name"]: c for c in cases})
    # the hybrid CONV_2D, DEPTHWISE_CONV_2D and a rank-3 FULLY_CONNECTED (keep_num_dims) run
    # int8 weights too
    weights = by_case["cnn_int8"][0]["structure"]["int8"]
    assert sorted(w["shape"] for w in weights) == [[1, 3, 3, 128], [10, 1200], [32, 1, 1, 128],
                                                   [32, 3, 3, 16], [48, 32]]
    assert all(w["scales"] == w["shape"][w["dim"]] for w in weights)
    assert [w["dim"] for w in weights if w["shape"][0] == 1] == [3]


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
