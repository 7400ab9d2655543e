"""Initializers (limits, statistics, fans, configs) and activations (formulas, names)."""

import math

import numpy as np
import pytest
import torch

from savepoint.errors import ConfigError, UnknownObjectError
from savepoint.layers import activations, initializers
from savepoint.layers.initializers import compute_fans
from savepoint.serialization import deserialize, serialize


@pytest.fixture(autouse=True)
def _seeded():
    """Unseeded initializers draw from torch's global generator: pin it so the statistical
    tolerances below are checked on fixed samples, never flaky."""
    torch.manual_seed(1234)


# ----- fans -------------------------------------------------------------------------------
def test_compute_fans_like_keras():
    assert compute_fans(()) == (1.0, 1.0)
    assert compute_fans((5,)) == (5.0, 5.0)
    assert compute_fans((784, 512)) == (784.0, 512.0)
    assert compute_fans((3, 3, 16, 32)) == (9 * 16.0, 9 * 32.0)   # Conv2D (kh, kw, in, out)


# ----- uniform families: hard limits ------------------------------------------------------
@pytest.mark.parametrize("name,shape,limit", [
    ("glorot_uniform", (300, 200), math.sqrt(6 / 500)),
    ("glorot_uniform", (3, 3, 32, 64), math.sqrt(6 / (288 + 576))),
    ("he_uniform", (300, 200), math.sqrt(6 / 300)),
    ("lecun_uniform", (300, 200), math.sqrt(3 / 300)),
    ("random_uniform", (300, 200), 0.05),
])
def test_uniform_initializer_limits(name, shape, limit):
    values = initializers.get(name)(shape).numpy()
    assert values.shape == shape and values.dtype == np.float32
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.98 * limit            # fills the whole range
    np.testing.assert_allclose(values.std(), limit / math.sqrt(3), rtol=0.03)
    assert abs(values.mean()) < 0.02 * limit


# ----- normal families: standard deviation and truncation ---------------------------------
@pytest.mark.parametrize("name,shape,std", [
    ("glorot_normal", (400, 300), math.sqrt(2 / 700)),
    ("he_normal", (400, 300), math.sqrt(2 / 400)),
    ("lecun_normal", (400, 300), math.sqrt(1 / 400)),
    ("he_normal", (3, 3, 40, 60), math.sqrt(2 / 360)),
])
def test_truncated_variance_scaling_std_and_bounds(name, shape, std):
    values = initializers.get(name)(shape).numpy()
    # Keras divides by 0.8796 so the truncated distribution keeps the target variance.
    np.testing.assert_allclose(values.std(), std, rtol=0.03)
    assert np.abs(values).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_random_normal_and_truncated_normal_defaults():
    normal = initializers.get("random_normal")((300, 300)).numpy()
    np.testing.assert_allclose(normal.std(), 0.05, rtol=0.03)
    assert np.abs(normal).max() > 0.15                      # not truncated
    trunc = initializers.get("truncated_normal")((300, 300)).numpy()
    assert np.abs(trunc).max() <= 0.1 + 1e-6                # within two standard deviations


def test_variance_scaling_untruncated_and_modes():
    init = initializers.VarianceScaling(scale=3.0, mode="fan_out",
                                        distribution="untruncated_normal")
    values = init((200, 500)).numpy()
    np.testing.assert_allclose(values.std(), math.sqrt(3.0 / 500), rtol=0.03)
    uniform = initializers.VarianceScaling(mode="fan_avg", distribution="uniform")((100, 300))
    assert uniform.abs().max().item() <= math.sqrt(3 / 200)


def test_constant_zeros_ones_orthogonal():
    assert initializers.get("zeros")((2, 3)).sum().item() == 0
    assert initializers.get("ones")((2, 3)).sum().item() == 6
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,)).numpy(), [2.5, 2.5])
    q = initializers.get("orthogonal")((6, 4)).numpy()
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    g = initializers.Orthogonal(gain=2.0)((4, 4)).numpy()
    np.testing.assert_allclose(g.T @ g, 4 * np.eye(4), atol=1e-4)


def test_seeded_initializers_are_reproducible():
    a = initializers.GlorotUniform(seed=3)((4, 5))
    b = initializers.GlorotUniform(seed=3)((4, 5))
    c = initializers.GlorotUniform(seed=4)((4, 5))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(initializers.RandomNormal(seed=1)((3,)),
                       initializers.RandomNormal(seed=1)((3,)))


def test_initializer_dtype():
    assert initializers.get("glorot_uniform")((2, 2), dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize("init", [
    initializers.GlorotUniform(seed=1), initializers.HeNormal(seed=2),
    initializers.RandomUniform(-1.0, 2.0, seed=3), initializers.RandomNormal(1.0, 0.5, seed=4),
    initializers.TruncatedNormal(0.0, 0.1, seed=5), initializers.Constant(0.3),
    initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=6), initializers.Zeros(),
    initializers.Orthogonal(1.5, seed=7),
])
def test_initializer_config_roundtrip(init):
    config = serialize(init)
    rebuilt = deserialize(config, "initializers")
    assert type(rebuilt) is type(init) and rebuilt.get_config() == init.get_config()
    assert torch.equal(rebuilt((3, 4)), init((3, 4)))


def test_initializer_keras_class_names_and_aliases():
    assert serialize(initializers.get("glorot_uniform"))["class_name"] == "GlorotUniform"
    assert isinstance(initializers.get("he_normal"), initializers.HeNormal)
    assert isinstance(initializers.get({"class_name": "Zeros", "config": {}}),
                      initializers.Zeros)
    same = initializers.Ones()
    assert initializers.get(same) is same


def test_initializer_errors():
    with pytest.raises(ConfigError, match=r"Unknown initializer 'glorot'. Expected a Keras "
                                          r"initializer name such as 'glorot_uniform'"):
        initializers.get("glorot")
    with pytest.raises(ConfigError, match=r"Expected mode in \('fan_in', 'fan_out', 'fan_avg'\). "
                                          r"Received: 'fan'"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ConfigError, match=r"Expected distribution in"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ConfigError, match=r"Expected an initializer name, config or instance. "
                                          r"Received: 3"):
        initializers.get(3)
    with pytest.raises(UnknownObjectError, match=r"Could not locate initializer 'Nope'"):
        initializers.get({"class_name": "Nope", "config": {}})


# ----- activations ------------------------------------------------------------------------
def _erf(x):
    return np.vectorize(math.erf)(x)


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x - x.max(-1, keepdims=True)) /
    np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - x.max(-1, keepdims=True) -
    np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * (np.exp(x) - 1)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),   # tf.keras 2 definition
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_formulas(name):
    x = np.linspace(-4, 4, 24).reshape(3, 8).astype(np.float64)
    out = activations.get(name)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, REFERENCES[name](x), rtol=1e-6, atol=1e-7)
    assert activations.serialize(activations.get(name)) == name


def test_hard_sigmoid_keras2_values():
    out = activations.get("hard_sigmoid")(torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0]))
    torch.testing.assert_close(out, torch.tensor([0.0, 0.3, 0.5, 0.7, 1.0]))


def test_activation_lookup_rules():
    assert activations.get(None) is activations.linear
    assert activations.get(torch.relu) is torch.relu
    assert activations.get({"class_name": "function", "config": {"name": "tanh"}}) is activations.tanh
    assert activations.serialize(activations.get("silu")) == "swish"


def test_activation_errors():
    with pytest.raises(ConfigError, match=r"Unknown activation 'relux'. Expected one of: .*relu"):
        activations.get("relux")
    with pytest.raises(ConfigError, match=r"Cannot serialize activation .* Expected a built-in "
                                          r"activation or a function registered with "
                                          r"register_serializable\(\)"):
        activations.serialize(lambda x: x * 2)
