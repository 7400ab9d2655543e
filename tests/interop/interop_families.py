"""Helpers for the live tests that round-trip model families through conv_check.py on the
tf-keras and Keras 3 side (run with conftest.py's ``run_in_tf`` / ``run_in_keras3``).

A plain module rather than conftest.py: ``from conftest import ...`` resolves to whichever
conftest pytest imported last, which is not this folder's when other folders are named first.
"""

from __future__ import annotations

import json

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed


def json_lines(stdout: str) -> list[dict]:
    """The JSON objects a checker script printed, one a line (other output passed over)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def save_family_cases(tmp_path, suffix: str, families: dict, weights, inputs) -> list[dict]:
    """Save each of ``families`` (name: model factory, seeded with 7) as ``<name><suffix>``
    with weights ``weights(shape)`` and its predictions for ``inputs(model)``: the cases a
    checker script (conv_check.py) reads, ``{"name", "model", "x", "y"}`` with file paths."""
    cases = []
    for name, factory in families.items():
        set_random_seed(7)
        model = factory()
        model.set_weights([weights(w.shape) for w in model.get_weights()])
        x = inputs(model)
        path = str(tmp_path / f"{name}{suffix}")
        model.save(path)
        np.save(str(tmp_path / f"{name}.x.npy"), x)
        np.save(str(tmp_path / f"{name}.y.npy"), model.predict(x, verbose=0))
        cases.append({"name": name, "model": path, "x": str(tmp_path / f"{name}.x.npy"),
                      "y": str(tmp_path / f"{name}.y.npy")})
    return cases


def check_saved_back(lines: list[dict], cases: list[dict], skip: tuple = (),
                     layers: bool = False) -> list[str]:
    """savepoint loads the files the other side saved back (``line["back"]``) and predicts what
    it predicted (``<model>.back.npy``); with ``layers`` the layer classes match its list too.
    Returns the names of the cases checked."""
    assert [line["name"] for line in lines] == [case["name"] for case in cases]
    checked = []
    for line, case in zip(lines, cases):
        if line["name"] in skip:
            continue
        keras.backend.clear_session()
        loaded = keras.models.load_model(line["back"], compile=False)
        if layers:
            assert [type(l).__name__ for l in loaded.layers] == line["layers"]
        np.testing.assert_allclose(loaded.predict(np.load(case["x"]), verbose=0),
                                   np.load(case["model"] + ".back.npy"), rtol=1e-5, atol=1e-5)
        checked.append(line["name"])
    return checked
