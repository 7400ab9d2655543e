"""Tracing a model (``model.save(dir)``'s torch.export, ``model.export`` to onnx/torch/litert,
and tfjs) leaves no trace-time tensor behind: no layer attribute holds a FakeTensor (or any
tensor subclass) afterwards, and the model still predicts bit for bit.

The reported bug: ``cnn``/``cnn_plain`` saved with ``model.save(dir)`` BEFORE any eager call,
then ``predict`` -> ``RuntimeError: .numpy() is not supported for tensor subclasses``.
AveragePooling2D('same') cached its rescaling tensor on first use; when that first use was
torch.export's trace, the cached tensor was a FakeTensor. A model called eagerly first (as
``build()`` does for BatchNorm statistics) had the real tensor cached and hid it, so these
tests export a never-called twin of the built model (same weights) and compare its predictions
with the built model's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import savepoint as keras
from export_families import FAMILIES, TFJS_FAMILIES, build, cnn_plain, inputs_for

L = keras.layers
# exporter -> (the families it supports, file name under tmp_path)
EXPORTERS = {"save": (FAMILIES, "m"), "onnx": (FAMILIES, "m.onnx"),
             "torch": (FAMILIES, "m_torch"), "litert": (FAMILIES, "m.tflite"),
             "tfjs": (TFJS_FAMILIES, "m_tfjs")}
CASES = [(fmt, fam) for fmt, (families, _) in EXPORTERS.items() for fam in sorted(families)]


def tensor_subclasses(model: keras.Model) -> list[str]:
    """``layer.attr[key]: TypeName`` for every tensor in a layer's ``__dict__`` (walking dicts,
    lists and tuples) or buffers that is not a plain ``torch.Tensor``/``Parameter``."""
    found: list[str] = []

    def walk(value, where: str, depth: int = 0) -> None:
        if isinstance(value, torch.Tensor):
            if type(value) not in (torch.Tensor, torch.nn.Parameter):
                found.append(f"{where}: {type(value).__name__}")
        elif isinstance(value, dict) and depth < 4:
            for k, v in value.items():
                walk(v, f"{where}[{k!r}]", depth + 1)
        elif isinstance(value, (list, tuple)) and depth < 4:
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]", depth + 1)

    for layer in list(model._flat_layers()) + [model]:
        for attr, value in vars(layer).items():
            walk(value, f"{layer.name}.{attr}")
        for name, buf in layer.named_buffers(recurse=False):
            walk(buf, f"{layer.name}.buffer.{name}")
    return found


def _predict(model: keras.Model, xs: list[np.ndarray]) -> list[np.ndarray]:
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return out if isinstance(out, list) else [out]


def _never_called_twin(factory) -> tuple[keras.Model, list[np.ndarray], list[np.ndarray]]:
    """A fresh ``factory()`` with ``build(factory)``'s weights, never called; its inputs and
    the built model's predictions on them."""
    built = build(factory)
    xs = inputs_for(built, 4)
    expected = _predict(built, xs)
    twin = factory()
    twin.set_weights(built.get_weights())
    return twin, xs, expected


@pytest.mark.parametrize("fmt,family", CASES)
def test_export_before_any_call_leaves_no_fake_tensor(tmp_path, fmt, family):
    families, name = EXPORTERS[fmt]
    model, xs, expected = _never_called_twin(families[family])
    path = str(tmp_path / name)
    model.save(path) if fmt == "save" else model.export(path, format=fmt)
    assert tensor_subclasses(model) == []
    for got, want in zip(_predict(model, xs), expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("factory", [FAMILIES["cnn"], cnn_plain])
def test_reported_sequence_save_clear_session_predict(tmp_path, factory):
    """The report's exact sequence: save a never-called CNN, clear_session, predict."""
    model, xs, expected = _never_called_twin(factory)
    model.save(os.path.join(str(tmp_path), "m"))
    keras.backend.clear_session()
    np.testing.assert_array_equal(model.predict(xs[0], verbose=0), expected[0])
    # a second save (cache now real) and export keep it so
    model.save(os.path.join(str(tmp_path), "m2"))
    model.export(os.path.join(str(tmp_path), "m.onnx"), format="onnx")
    np.testing.assert_array_equal(model.predict(xs[0], verbose=0), expected[0])


def test_average_pooling_same_traced_first_then_eager():
    """The layer alone: its first call is a torch.export trace, the next an eager call."""
    layer = L.AveragePooling2D(2, padding="same")
    x = torch.arange(2 * 5 * 5 * 3, dtype=torch.float32).reshape(2, 5, 5, 3)

    class Wrap(torch.nn.Module):
        def forward(self, t):
            return layer(t)

    torch.export.export(Wrap(), (x,))
    assert all(type(v) is torch.Tensor for v in vars(layer).get("_scale_cache", {}).values())
    want = L.AveragePooling2D(2, padding="same")(x)
    torch.testing.assert_close(layer(x), want, rtol=0, atol=0)
