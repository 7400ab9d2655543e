"""GroupNormalization (instance norm included) and UnitNormalization against golden outputs and
gradients from real tf-keras 2 (tools/make_activation_goldens.py)."""

import pytest

from golden_cases import cases, check


@pytest.mark.parametrize("case", cases("normalization"))
def test_normalization_golden(case):
    assert check("normalization", case, rtol=1e-5, atol=2e-5) >= 1  # its outputs (and gradients) compared
