"""Helpers shared by the layer tests: config round trips and output comparison."""

import json

import numpy as np
import pytest
import torch

from savepoint.serialization import deserialize, serialize


def _json(obj):
    return json.loads(json.dumps(obj))


def check_roundtrip(layer, x):
    """Rebuild ``layer`` from its config (directly and through JSON): identical config, and with
    the same weights, identical outputs on ``x``."""
    expected = layer(x, training=False)
    config = layer.get_config()
    direct = type(layer).from_config(config)
    via_json = deserialize(_json(serialize(layer)), "layers")
    for rebuilt in (direct, via_json):
        assert type(rebuilt) is type(layer)
        assert _json(rebuilt.get_config()) == _json(config)
        out = rebuilt(x, training=False)  # builds it
        rebuilt.set_weights(layer.get_weights())
        out = rebuilt(x, training=False)
        assert _json(rebuilt.get_config()) == _json(layer.get_config())
        assert [w.name for w in rebuilt.weights] == [w.name for w in layer.weights]
        torch.testing.assert_close(out, expected, rtol=0, atol=0)
    return direct


@pytest.fixture
def roundtrip():
    return check_roundtrip


@pytest.fixture
def rng():
    return np.random.default_rng(0)
