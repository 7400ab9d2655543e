"""LIVE: tf-keras opens savepoint's ``.h5`` and Keras 3 its ``.keras`` of models made of the
recurrent layers (masks from Embedding(mask_zero) and Masking, Bidirectional, TimeDistributed,
GRU reset_after=False, stacked cells, a symbolic initial_state) and predicts the same; savepoint
opens the files they save back and predicts what they predicted (conv_check.py runs on their
side)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "saving"))
from saving_model_families import (data_for, recurrent_functional,  # noqa: E402
                                   recurrent_sequential)

FAMILIES = {"recurrent_sequential": recurrent_sequential,
            "recurrent_functional": recurrent_functional}


def _cases(tmp_path, suffix: str) -> list[dict]:
    rng = np.random.default_rng(11)
    cases = []
    for name, factory in FAMILIES.items():
        set_random_seed(7)
        model = factory()
        model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32")
                           for w in model.get_weights()])
        x = data_for(model)
        path = str(tmp_path / f"{name}{suffix}")
        model.save(path)
        np.save(str(tmp_path / f"{name}.x.npy"), x)
        np.save(str(tmp_path / f"{name}.y.npy"), model.predict(x, verbose=0))
        cases.append({"name": name, "model": path, "x": str(tmp_path / f"{name}.x.npy"),
                      "y": str(tmp_path / f"{name}.y.npy")})
    return cases


def _check_back(lines: list[dict], cases: list[dict], skip: tuple = ()) -> None:
    assert [line["name"] for line in lines] == [case["name"] for case in cases]
    for line, case in zip(lines, cases):
        if line["name"] in skip:
            continue
        keras.backend.clear_session()
        loaded = keras.models.load_model(line["back"], compile=False)
        np.testing.assert_allclose(loaded.predict(np.load(case["x"]), verbose=0),
                                   np.load(case["model"] + ".back.npy"), rtol=1e-5, atol=1e-5)


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_tf_keras_reads_and_writes_recurrent_models(tmp_path, run_in_tf):
    cases = _cases(tmp_path, ".h5")
    lines = _lines(run_in_tf("conv_check.py", {"side": "tf_keras", "cases": cases}))
    _check_back(lines, cases)


def test_keras3_reads_and_writes_recurrent_models(tmp_path, run_in_keras3):
    cases = _cases(tmp_path, ".keras")
    lines = _lines(run_in_keras3("conv_check.py", {"side": "keras3", "cases": cases}))
    # Keras 3 saves a functional model's Masking mask as op layers (NotEqual, Any) passed as
    # mask=: reading those back is the op-layer work of issue 8.6, not the recurrent layers'.
    _check_back(lines, cases, skip=("recurrent_functional",))
