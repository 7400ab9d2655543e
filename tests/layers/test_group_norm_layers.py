"""GroupNormalization and UnitNormalization (and the Permute/RepeatVector reshaping layers)
beyond the goldens: the limits of groups, axes, their errors and config round trips."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError

L = keras.layers


def test_group_norm_one_group_is_layer_norm_over_all_axes(rng):
    x = torch.tensor(rng.normal(size=(2, 3, 4)).astype("float32"))
    out = L.GroupNormalization(groups=1, epsilon=1e-5)(x)
    ref = torch.nn.functional.layer_norm(x, (3, 4), eps=1e-5)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_group_norm_errors():
    with pytest.raises(ConfigError, match=r"GroupNormalization expected `groups` to be a "
                                          r"positive int or -1. Received: groups=0"):
        L.GroupNormalization(groups=0)
    with pytest.raises(ShapeError, match=r"needs the 6 channels of axis -1 to split evenly into "
                                         r"groups. Received: groups=4. Fix: use a divisor of 6"):
        L.GroupNormalization(groups=4)(torch.zeros(1, 2, 6))
    with pytest.raises(ShapeError, match=r"Axis -1 of input tensor should have a defined "
                                         r"dimension"):
        L.GroupNormalization(groups=2)(keras.Input((3, None)))


def test_unit_norm_and_errors():
    out = L.UnitNormalization(axis=[1, 2])(torch.ones(2, 2, 2))
    torch.testing.assert_close(out, torch.full((2, 2, 2), 0.5))
    torch.testing.assert_close(L.UnitNormalization()(torch.zeros(1, 3)), torch.zeros(1, 3))
    with pytest.raises(ShapeError, match=r"\(UnitNormalization\) got axis 0 for inputs of rank "
                                         r"2. Expected axes in 1..1"):
        L.UnitNormalization(axis=0)(torch.ones(2, 3))
    with pytest.raises(ConfigError, match=r"UnitNormalization expected `axis` to be an int or "
                                          r"a list of ints. Received: axis='x'"):
        L.UnitNormalization(axis="x")


def test_permute_repeat_vector_shapes_and_errors():
    assert L.Permute((2, 1))(keras.Input((3, 5))).shape == (None, 5, 3)
    assert L.RepeatVector(4)(keras.Input((3,))).shape == (None, 4, 3)
    with pytest.raises(ConfigError, match=r"Permute expected `dims` to be a permutation of 1..n "
                                          r"\(axis 0 is the batch\). Received: dims=\[0, 1\]"):
        L.Permute((0, 1))
    with pytest.raises(ShapeError, match=r"\(Permute\) expected inputs of rank 3 for "
                                         r"dims=\(2, 1\). Received input shape \(2, 3\)"):
        L.Permute((2, 1))(torch.zeros(2, 3))
    with pytest.raises(ConfigError, match=r"RepeatVector expected `n` to be a non-negative int. "
                                          r"Received: n=2.5"):
        L.RepeatVector(2.5)
    with pytest.raises(ShapeError, match=r"\(RepeatVector\) expected inputs of rank 2 "
                                         r"\(batch, features\). Received input shape"):
        L.RepeatVector(2)(torch.zeros(2, 3, 4))


def test_configs_round_trip(roundtrip, rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    for layer in (L.GroupNormalization(groups=2, epsilon=1e-4), L.UnitNormalization(axis=[1]),
                  L.Permute((2, 1))):
        roundtrip(layer, x)
    roundtrip(L.RepeatVector(3), x[:, 0])
    roundtrip(L.GroupNormalization(groups=-1, center=False), x)
