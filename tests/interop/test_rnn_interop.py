"""LIVE: tf-keras opens savepoint's ``.h5`` and Keras 3 its ``.keras`` of models made of the
recurrent layers (masks from Embedding(mask_zero) and Masking, Bidirectional, TimeDistributed,
GRU reset_after=False, stacked cells, a symbolic initial_state) and predicts the same; savepoint
opens the files they save back and predicts what they predicted (conv_check.py runs on their
side)."""

from __future__ import annotations

import os
import sys

import numpy as np
from interop_families import check_saved_back, json_lines, save_family_cases

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "saving"))
from saving_model_families import (data_for, recurrent_functional,  # noqa: E402
                                   recurrent_sequential)

FAMILIES = {"recurrent_sequential": recurrent_sequential,
            "recurrent_functional": recurrent_functional}


def _cases(tmp_path, suffix: str) -> list[dict]:
    rng = np.random.default_rng(11)
    return save_family_cases(
        tmp_path, suffix, FAMILIES,
        weights=lambda shape: rng.uniform(-0.6, 0.6, shape).astype("float32"), inputs=data_for)


def test_tf_keras_reads_and_writes_recurrent_models(tmp_path, run_in_tf):
    cases = _cases(tmp_path, ".h5")
    lines = json_lines(run_in_tf("conv_check.py", {"side": "tf_keras", "cases": cases}))
    checked = check_saved_back(lines, cases)
    assert checked, "no case was read back"


def test_keras3_reads_and_writes_recurrent_models(tmp_path, run_in_keras3):
    cases = _cases(tmp_path, ".keras")
    lines = json_lines(run_in_keras3("conv_check.py", {"side": "keras3", "cases": cases}))
    # Keras 3 saves a functional model's Masking mask as op layers (NotEqual, Any) passed as
    # mask=: reading those back is the op-layer work of issue 8.6, not the recurrent layers'.
    checked = check_saved_back(lines, cases, skip=("recurrent_functional",))
    assert checked, "no case was read back"
