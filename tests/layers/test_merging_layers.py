"""Merge layers beyond the goldens: the lower-case functions on symbolic tensors, Dot shapes and
axes, and the errors of wrong input counts and shapes."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError

L = keras.layers


def test_lower_case_functions_build_layers():
    a, b = keras.Input((4,)), keras.Input((4,))
    outs = {"add": L.add([a, b]), "subtract": L.subtract([a, b]),
            "multiply": L.multiply([a, b]), "average": L.average([a, b]),
            "maximum": L.maximum([a, b]), "minimum": L.minimum([a, b]),
            "dot": L.dot([a, b], axes=1), "concatenate": L.concatenate([a, b], axis=-1)}
    shapes = {k: v.shape for k, v in outs.items()}
    assert shapes == {"add": (None, 4), "subtract": (None, 4), "multiply": (None, 4),
                      "average": (None, 4), "maximum": (None, 4), "minimum": (None, 4),
                      "dot": (None, 1), "concatenate": (None, 8)}
    model = keras.Model([a, b], list(outs.values()))
    x, y = np.arange(8, dtype="float32").reshape(2, 4), np.ones((2, 4), "float32") * 3
    got = dict(zip(outs, model.predict([x, y], verbose=0)))
    np.testing.assert_allclose(got["subtract"], x - y)
    np.testing.assert_allclose(got["average"], (x + y) / 2)
    np.testing.assert_allclose(got["minimum"], np.minimum(x, y))
    np.testing.assert_allclose(got["dot"], (x * y).sum(-1, keepdims=True))


def test_dot_output_shapes():
    assert L.Dot(axes=(1, 2)).compute_output_shape([(None, 4, 5), (None, 6, 4)]) == \
        (None, 5, 6)
    assert L.Dot(axes=-1).compute_output_shape([(None, 3, 5), (None, 2, 5)]) == (None, 3, 2)
    out = L.Dot(axes=2, normalize=True)([torch.ones(2, 3, 4), torch.ones(2, 5, 4)])
    torch.testing.assert_close(out, torch.ones(2, 3, 5))


def test_merge_errors():
    with pytest.raises(ConfigError, match=r'Layer "subtract\w*" \(Subtract\) should be called '
                                          r"on exactly 2 inputs. Received: 3 input\(s\)"):
        L.Subtract()([torch.ones(1, 2)] * 3)
    with pytest.raises(ConfigError, match=r"\(Multiply\) should be called on a list of at least "
                                          r"2 inputs. Received: a single input of shape "
                                          r"\(None, 2\)"):
        L.Multiply()(torch.ones(1, 2))
    with pytest.raises(ShapeError, match=r"\(Maximum\) received inputs with incompatible "
                                         r"shapes: \[\(None, 3\), \(None, 4\)\]"):
        L.Maximum()([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ConfigError, match=r"Dot expected `axes` to be an int or a list of 2 "
                                          r"ints. Received: axes=\(1, 2, 3\)"):
        L.Dot(axes=(1, 2, 3))
    with pytest.raises(ConfigError, match=r"Dot expected `axes` to be an int or a list of 2 "
                                          r"ints. Received: axes='1'"):
        L.Dot(axes="1")
    with pytest.raises(ShapeError, match=r"\(Dot\) needs equal sizes along the dot axes. "
                                         r"Received: inputs \[\(None, 3\), \(None, 4\)\]"):
        L.Dot(axes=1)([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ShapeError, match=r"\(Dot\) cannot reduce axis 0"):
        L.Dot(axes=0)([torch.ones(2, 3), torch.ones(2, 3)])


def test_merge_configs_round_trip(roundtrip, rng):
    a, b = (rng.normal(size=(2, 3)).astype("float32") for _ in range(2))
    for layer in (L.Subtract(), L.Multiply(), L.Average(), L.Maximum(), L.Minimum(),
                  L.Dot(axes=[1, 1], normalize=True)):
        roundtrip(layer, [a, b])


def test_merge_masks_follow_keras2():
    a, b = torch.ones(2, 3, 4), torch.ones(2, 3, 4)
    ma = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    mb = torch.tensor([[1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    assert L.Add().compute_mask([a, b], [ma, mb]).tolist() == (ma & mb).tolist()
    assert L.Multiply().compute_mask([a, b], [None, mb]).tolist() == mb.tolist()
    assert L.Add().compute_mask([a, b], [None, None]) is None
    assert L.Dot(axes=2).compute_mask([a, b], [ma, mb]) is None
    assert L.Concatenate(axis=1).compute_mask([a, b], [ma, None]).tolist() == \
        [[True, True, False, True, True, True], [True] * 6]
    assert L.Concatenate().compute_mask([a, b], [ma, mb]).tolist() == (ma & mb).tolist()
