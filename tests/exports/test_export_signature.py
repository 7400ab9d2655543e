"""exports/signature.py: the input_signature forms every exporter accepts, and their errors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import savepoint as keras
from export_families import FAMILIES, build
from savepoint.errors import ConfigError
from savepoint.exports.signature import resolve


def test_forms_of_one_input():
    model = build(FAMILIES["tutorial_mlp"])
    want = [{"name": "dense_input", "shape": [8, 784], "dtype": "float32"}]
    for form in ((8, 784), [8, 784], [(8, 784)], [((8, 784), "float32")],
                 [SimpleNamespace(shape=(8, 784), dtype="float32")],
                 [SimpleNamespace(shape=torch.Size([8, 784]), dtype=torch.float32)],
                 [SimpleNamespace(shape=(np.int64(8), 784), dtype=np.dtype("float32"))],
                 [SimpleNamespace(shape=(8, 784))]):
        specs, structure = resolve(model, form)
        assert [{**s, "name": "dense_input"} for s in specs] == want, form
        assert structure is None
    assert resolve(model, None)[0][0]["shape"] == [None, 784]


def test_forms_of_two_inputs():
    model = build(FAMILIES["two_in_two_out"])
    specs, _ = resolve(model, {"a_first": (None, 3), "b_second": (2, 6)})
    assert [(s["name"], s["shape"]) for s in specs] == [("b_second", [2, 6]),
                                                        ("a_first", [None, 3])]


@pytest.mark.parametrize("form, message", [
    ([(None, 783)], r"input 'dense_input' to have a shape compatible with the model's "
                    r"\(None, 784\) \(only its None dimensions may be fixed\)\. Received "
                    r"\(None, 783\)\. Fix: match"),
    ([(None, 784, 1)], r"Received \(None, 784, 1\)"),
    ([(0, 784)], r"Received \(0, 784\)"),
    ([((None, 784), "float64")], r"input 'dense_input' to have the model's dtype 'float32'\. "
                                 r"Received 'float64'"),
    ([(None, 784), (None, 784)], r"1 entry \(one per model "
                                 r"input \['dense_input'\]\)\. Received 2"),
    (["abc"], r"a shape for input 'dense_input' \(a tuple of ints or None\)\. Received 'abc'"),
])
def test_bad_forms(form, message):
    model = build(FAMILIES["tutorial_mlp"])
    with pytest.raises(ConfigError, match=r"model.export\(format='onnx'\): expected "
                       r"input_signature to give .*" + message):
        resolve(model, form, "onnx")
