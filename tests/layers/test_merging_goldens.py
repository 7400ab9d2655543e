"""Merge layers (and Permute/RepeatVector) against golden outputs and gradients from real
tf-keras 2 (tools/make_activation_goldens.py)."""

import pytest

from golden_cases import cases, check


@pytest.mark.parametrize("case", cases("merging"))
def test_merging_golden(case):
    assert check("merging", case) >= 1  # its outputs (and gradients) compared


@pytest.mark.parametrize("case", cases("reshaping"))
def test_reshaping_golden(case):
    assert check("reshaping", case) >= 1  # its outputs (and gradients) compared
