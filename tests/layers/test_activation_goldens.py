"""Activation layers and ``keras.activations`` functions against golden outputs and gradients
from real tf-keras 2 (tools/make_activation_goldens.py)."""

import pytest

from golden_cases import cases, check


@pytest.mark.parametrize("case", cases("activation"))
def test_activation_golden(case):
    assert check("activation", case) >= 1  # its outputs (and gradients) compared
