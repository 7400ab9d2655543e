"""MultiHeadAttention, Attention and AdditiveAttention against golden outputs and gradients from
real tf-keras 2 (tools/make_attention_goldens.py): masks, causal masks, scores, rank 4."""

import pytest

from golden_cases import cases, check


@pytest.mark.parametrize("case", cases("attention"))
def test_attention_golden(case):
    assert check("attention", case, rtol=1e-5, atol=2e-5) >= 1  # its outputs (and gradients) compared
