"""LIVE: tf-keras opens savepoint's ``.h5`` and Keras 3 its ``.keras`` of models made of every
convolution, pooling and reshaping layer, and predicts the same; savepoint opens the files they
save back and predicts what they predicted (conv_check.py runs on their side)."""

from __future__ import annotations

import os
import sys

import numpy as np
from interop_families import check_saved_back, json_lines, save_family_cases

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "saving"))
from saving_model_families import conv1d_family, conv2d_family, conv3d_family  # noqa: E402

FAMILIES = {"conv1d": conv1d_family, "conv2d": conv2d_family, "conv3d": conv3d_family}


def _cases(tmp_path, suffix: str) -> list[dict]:
    rng = np.random.default_rng(5)
    # random biases too: zero biases would hide a bias applied in the wrong place
    return save_family_cases(
        tmp_path, suffix, FAMILIES,
        weights=lambda shape: rng.standard_normal(shape).astype("float32") * 0.5,
        inputs=lambda model: rng.standard_normal(
            (3,) + tuple(model.inputs[0].shape[1:])).astype("float32"))


def test_tf_keras_reads_and_writes_conv_models(tmp_path, run_in_tf):
    cases = _cases(tmp_path, ".h5")
    lines = json_lines(run_in_tf("conv_check.py", {"side": "tf_keras", "cases": cases}))
    checked = check_saved_back(lines, cases, layers=True)
    assert checked, "no case was read back"


def test_keras3_reads_and_writes_conv_models(tmp_path, run_in_keras3):
    cases = _cases(tmp_path, ".keras")
    lines = json_lines(run_in_keras3("conv_check.py", {"side": "keras3", "cases": cases}))
    checked = check_saved_back(lines, cases, layers=True)
    assert checked, "no case was read back"
