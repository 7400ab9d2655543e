"""Regularization layers at inference (the identity, with Keras's configs) against real tf-keras 2
goldens (tools/make_activation_goldens.py)."""

import pytest

from golden_cases import cases, check


@pytest.mark.parametrize("case", cases("regularization"))
def test_regularization_golden(case):
    assert check("regularization", case) >= 1  # its outputs (and gradients) compared
