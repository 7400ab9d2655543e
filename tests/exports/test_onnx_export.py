"""model.export(format="onnx"): torch's own exporter (torch.onnx.export, dynamo) on the traced
inference forward; every family runs in onnxruntime at batch 1 and 8 within 1e-4 of the output
scale, with tf.keras's input/output names and a dynamic batch named ``batch``."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import savepoint as keras
from export_families import FAMILIES, build, input_names, inputs_for, untraceable
from savepoint.errors import ConfigError

L = keras.layers


def _session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_runs_in_onnxruntime(tmp_path, family):
    model = build(FAMILIES[family])
    path = str(tmp_path / f"{family}.onnx")
    model.export(path, format="onnx")
    session = _session(path)
    names = input_names(model)
    assert [i.name for i in session.get_inputs()] == names
    assert [o.name for o in session.get_outputs()] == list(model.output_names)
    for spec, t in zip(session.get_inputs(), model.inputs):
        assert spec.shape == ["batch"] + list(t.shape[1:])
    for n in (1, 8):
        xs = inputs_for(model, n, seed=n)
        got = session.run(None, dict(zip(names, xs)))
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-4 * np.abs(w).max())
    proto = onnx.load(path)
    onnx.checker.check_model(proto)


def test_fixed_batch_and_opset(tmp_path):
    model = build(FAMILIES["tutorial_mlp"])
    path = str(tmp_path / "fixed.onnx")
    model.export(path, format="onnx", input_signature=[(4, 784)], opset_version=18)
    proto = onnx.load(path)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [18]
    session = _session(path)
    assert session.get_inputs()[0].shape == [4, 784]
    x = inputs_for(model, 4)[0]
    np.testing.assert_allclose(session.run(None, {"dense_input": x})[0],
                               model.predict(x, verbose=0), rtol=0, atol=1e-5)
    with pytest.raises(Exception, match="dimension|shape|Got: 5"):
        session.run(None, {"dense_input": np.zeros((5, 784), np.float32)})


def test_nothing_is_pickled(tmp_path):
    model = build(FAMILIES["cnn"])
    path = str(tmp_path / "cnn.onnx")
    model.export(path, format="onnx")
    data = open(path, "rb").read()
    assert not data.startswith(b"\x80") and b"torch._utils" not in data
    assert sorted(os.listdir(tmp_path)) == ["cnn.onnx"]  # weights inline, no side files


@pytest.mark.parametrize("opset", [17, "18", 18.0, True])
def test_bad_opset_is_a_config_error(tmp_path, opset):
    model = build(FAMILIES["tutorial_mlp"])
    with pytest.raises(ConfigError, match=r"expected opset_version to be an int >= 18 "
                       r"\(torch's dynamo exporter\) or None\. Received"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", opset_version=opset)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_untraceable_model_is_a_config_error(tmp_path):
    model = untraceable()
    with pytest.raises(ConfigError, match=r"model.export\(format='onnx'\): expected a model "
                       r"torch.export can trace.*on which torch.export failed"):
        model.export(str(tmp_path / "b.onnx"), format="onnx")
    assert not os.path.exists(tmp_path / "b.onnx")


def test_unknown_option_is_refused(tmp_path):
    model = build(FAMILIES["tutorial_mlp"])
    with pytest.raises(ConfigError, match=r"expected options among \['opset_version'\]\. "
                       r"Received \['opset'\]"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", opset=18)


class Bessel(L.Layer):
    def call(self, x):
        import torch
        return torch.special.bessel_j0(x)  # traceable, but ONNX has no function for it


def test_operator_without_onnx_function_is_a_config_error_naming_it(tmp_path):
    x = keras.Input((3,), name="x")
    model = keras.Model(x, L.Dense(2)(Bessel(name="bessel")(x)))
    with pytest.raises(ConfigError, match=r"model.export\(format='onnx'\): expected a model "
                       r"torch.onnx.export can convert\. Received model '.*', on which it "
                       r"failed: DispatchError: No ONNX function found for "
                       r"<OpOverload\(op='prims.bessel_j0'.*Fix: export it with "
                       r"format='torch'"):
        model.export(str(tmp_path / "b.onnx"), format="onnx")
    assert not os.path.exists(tmp_path / "b.onnx")
