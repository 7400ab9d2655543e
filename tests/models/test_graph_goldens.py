"""Model-graph behaviour against tf.keras 2 goldens (tools/make_model_graph_goldens.py): each case
of graph_cases.py runs on savepoint and must give what it gave on real tf.keras."""

import json
import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.utils import set_random_seed

import graph_cases

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens",
                       "model_graph")


def golden(name):
    """``(arrays, meta)`` that tf.keras produced for ``graph_cases.CASES[name]``."""
    with open(os.path.join(GOLDENS, f"{name}.json")) as f:
        meta = json.load(f)
    return dict(np.load(os.path.join(GOLDENS, f"{name}.npz"))), meta


def assert_same(got, want, where="meta"):
    """Equal structures; floats within 1e-5 (relative) and NaN equal to NaN."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), (where, got, want)
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, (int, float)), (where, got)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        assert got == want and type(got) is type(want), (where, got, want)


@pytest.mark.parametrize("name", sorted(graph_cases.CASES))
def test_case_matches_tf_keras(name):
    keras.backend.clear_session()
    set_random_seed(0)
    arrays, meta = graph_cases.CASES[name](keras)
    want_arrays, want_meta = golden(name)
    assert_same(meta, want_meta)
    assert sorted(arrays) == sorted(want_arrays)
    for key, want in want_arrays.items():
        got = np.asarray(arrays[key])
        assert got.shape == want.shape, key
        assert got.dtype == want.dtype, key
        # half precision (mixed policies) rounds differently from TF's fused kernels
        tol = 2e-3 if key.startswith("approx_") else 1e-6
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=key)
