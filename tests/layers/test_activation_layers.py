"""Activation layers and ``keras.activations`` beyond the goldens: Keras 2's function API
(``relu`` with arguments, ``get``/``serialize``/``deserialize``), argument errors, masks."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations

L = keras.layers


def test_activation_module_is_top_level_and_keras2_shaped():
    assert keras.activations.relu is activations.relu
    x = torch.tensor([-3.0, -0.5, 0.5, 2.0, 8.0])
    assert keras.activations.relu(x, alpha=0.5, max_value=6.0, threshold=1.0).tolist() == \
        [-2.0, -0.75, -0.25, 2.0, 6.0]
    assert keras.activations.hard_sigmoid(torch.tensor([1.0])).tolist() == \
        pytest.approx([0.7])
    assert activations.serialize(activations.get("silu")) == "swish"
    assert activations.deserialize("gelu") is activations.gelu
    assert activations.deserialize("mine", custom_objects={"mine": abs}) is abs
    for name in ("relu6", "log_softmax", "leaky_relu", "mish", "selu", "exponential"):
        assert activations.serialize(activations.get(name)) == name


def test_plain_torch_functions_serialize_by_keras_name():
    assert activations.serialize(torch.relu) == "relu"
    assert activations.serialize(torch.nn.functional.silu) == "swish"


def test_unknown_activation_and_rank_errors():
    with pytest.raises(ConfigError, match=r"Unknown activation 'swishy'. Expected one of: .*"
                                          r"Received: 'swishy'"):
        activations.get("swishy")
    with pytest.raises(ConfigError, match=r"Expected a tensor of rank >= 2 for softmax. "
                                          r"Received: a tensor of shape \(3,\)"):
        activations.softmax(torch.zeros(3))


@pytest.mark.parametrize("kwargs, message", [
    ({"max_value": -1.0}, r"ReLU expected `max_value` to be a non-negative number or None. "
                          r"Received: max_value=-1.0"),
    ({"negative_slope": -0.1}, r"ReLU expected `negative_slope` to be a non-negative number. "
                               r"Received: negative_slope=-0.1"),
    ({"threshold": None}, r"ReLU expected `threshold` to be a non-negative number. Received: "
                          r"threshold=None"),
])
def test_relu_argument_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        L.ReLU(**kwargs)


def test_other_activation_layer_errors():
    with pytest.raises(ConfigError, match=r"LeakyReLU expected `alpha` to be a non-negative "
                                          r"number. Received: alpha=-1"):
        L.LeakyReLU(alpha=-1)
    with pytest.raises(ConfigError, match=r"ELU expected `alpha` to be a number. Received: "
                                          r"alpha='x'"):
        L.ELU(alpha="x")
    with pytest.raises(ConfigError, match=r"ThresholdedReLU expected `theta` to be a "
                                          r"non-negative number. Received: theta=-2"):
        L.ThresholdedReLU(theta=-2)
    with pytest.raises(ConfigError, match=r"Softmax expected `axis` to be an int or a list of "
                                          r"ints. Received: axis='last'"):
        L.Softmax(axis="last")
    with pytest.raises(ConfigError, match=r"PReLU expected `shared_axes` to be None or a list "
                                          r"of axes >= 1 \(axis 0 is the batch\). Received: "
                                          r"shared_axes=\[0\]"):
        L.PReLU(shared_axes=0)
    with pytest.raises(ShapeError, match=r"expected shared_axes within 1..2 for input shape "
                                         r"\(None, 3, 4\)"):
        L.PReLU(shared_axes=[3])(torch.zeros(1, 3, 4))
    with pytest.raises(ShapeError, match=r"expected every non-shared input dimension to be "
                                         r"known"):
        L.PReLU()(keras.Input((None, 4)))


def test_leaky_relu_speaks_both_dialects():
    layer = L.LeakyReLU(negative_slope=0.25)
    assert layer.alpha == 0.25 and layer.get_config()["alpha"] == 0.25
    assert L.LeakyReLU.keras3_config_out({"alpha": 0.1}) == {"negative_slope": 0.1}
    assert L.LeakyReLU.keras3_config_in({"negative_slope": 0.1}) == {"alpha": 0.1}


def test_softmax_mask_and_prelu_training():
    out = L.Softmax()(torch.zeros(2, 3), mask=torch.tensor([[1, 1, 0], [1, 0, 0]]))
    np.testing.assert_allclose(out.numpy(), [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], atol=1e-7)
    model = keras.Sequential([L.Dense(4, input_shape=(3,)), L.PReLU(), L.Dense(1)])
    model.compile("adam", "mse")
    before = model.layers[1].get_weights()[0].copy()
    model.fit(np.random.rand(8, 3).astype("float32") - 0.5, np.ones((8, 1)), epochs=3,
              verbose=0)
    assert not np.array_equal(before, model.layers[1].get_weights()[0])


def test_activation_layers_config_round_trip(roundtrip, rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    for layer in (L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.3), L.LeakyReLU(0.2),
                  L.PReLU(shared_axes=[1]), L.ELU(0.4), L.Softmax(axis=[1, 2]),
                  L.ThresholdedReLU(0.5)):
        roundtrip(layer, x)
