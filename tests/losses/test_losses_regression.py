"""Regression, hinge and divergence losses against independent numpy formulas."""

import numpy as np
import pytest
import torch

from savepoint import losses

RNG = np.random.default_rng(0)
Y_TRUE = RNG.uniform(0.1, 2.0, size=(6, 3)).astype(np.float32)
Y_PRED = RNG.uniform(0.1, 2.0, size=(6, 3)).astype(np.float32)
SW = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0], dtype=np.float32)
EPS = 1e-7


def np_mse(t, p): return np.mean((p - t) ** 2, axis=-1)
def np_mae(t, p): return np.mean(np.abs(p - t), axis=-1)
def np_mape(t, p): return 100 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), axis=-1)


def np_msle(t, p):
    return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1)


def np_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2), axis=-1)


def np_logcosh(t, p): return np.mean(np.log(np.cosh(p - t)), axis=-1)


def np_cosine(t, p):
    tn = t / np.linalg.norm(t, axis=-1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return -np.sum(tn * pn, axis=-1)


def np_signed(t): return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t
def np_hinge(t, p): return np.mean(np.maximum(1 - np_signed(t) * p, 0), axis=-1)
def np_sq_hinge(t, p): return np.mean(np.maximum(1 - np_signed(t) * p, 0) ** 2, axis=-1)


def np_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def np_poisson(t, p): return np.mean(p - t * np.log(p + EPS), axis=-1)


CASES = [
    (losses.MeanSquaredError, losses.mean_squared_error, np_mse, "mean_squared_error"),
    (losses.MeanAbsoluteError, losses.mean_absolute_error, np_mae, "mean_absolute_error"),
    (losses.MeanAbsolutePercentageError, losses.mean_absolute_percentage_error, np_mape,
     "mean_absolute_percentage_error"),
    (losses.MeanSquaredLogarithmicError, losses.mean_squared_logarithmic_error, np_msle,
     "mean_squared_logarithmic_error"),
    (losses.Huber, losses.huber, np_huber, "huber_loss"),
    (losses.LogCosh, losses.log_cosh, np_logcosh, "log_cosh"),
    (losses.CosineSimilarity, losses.cosine_similarity, np_cosine, "cosine_similarity"),
    (losses.Hinge, losses.hinge, np_hinge, "hinge"),
    (losses.SquaredHinge, losses.squared_hinge, np_sq_hinge, "squared_hinge"),
    (losses.KLDivergence, losses.kl_divergence, np_kld, "kl_divergence"),
    (losses.Poisson, losses.poisson, np_poisson, "poisson"),
]
IDS = [c[0].__name__ for c in CASES]


def _data(cls):
    if cls in (losses.Hinge, losses.SquaredHinge):
        return (RNG.integers(0, 2, size=(6, 3)).astype(np.float32),
                RNG.normal(size=(6, 3)).astype(np.float32))
    if cls is losses.KLDivergence:
        t, p = Y_TRUE / Y_TRUE.sum(-1, keepdims=True), Y_PRED / Y_PRED.sum(-1, keepdims=True)
        return t.astype(np.float32), p.astype(np.float32)
    return Y_TRUE, Y_PRED * 2 - 1 if cls is losses.Huber else Y_PRED


@pytest.mark.parametrize("cls,fn,ref,name", CASES, ids=IDS)
def test_functional_form_matches_numpy(cls, fn, ref, name):
    t, p = _data(cls)
    got = fn(torch.from_numpy(t), torch.from_numpy(p)).numpy()
    np.testing.assert_allclose(got, ref(t, p), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,fn,ref,name", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_class_reductions_with_sample_weight(cls, fn, ref, name, reduction):
    t, p = _data(cls)
    per_sample = ref(t, p) * SW
    expected = {"sum_over_batch_size": per_sample.sum() / per_sample.size,
                "sum": per_sample.sum(), "none": per_sample}[reduction]
    loss = cls(reduction=reduction)
    got = loss(torch.from_numpy(t), torch.from_numpy(p), sample_weight=SW)
    assert loss.name == name
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,fn,ref,name", CASES, ids=IDS)
def test_config_round_trip(cls, fn, ref, name):
    kwargs = {"delta": 0.5} if cls is losses.Huber else {"axis": 1} \
        if cls is losses.CosineSimilarity else {}
    loss = cls(reduction="sum", name="custom", **kwargs)
    config = loss.get_config()
    rebuilt = cls.from_config(config)
    assert rebuilt.get_config() == config
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == config
    t, p = _data(cls)
    assert torch.equal(loss(torch.from_numpy(t), torch.from_numpy(p)),
                       again(torch.from_numpy(t), torch.from_numpy(p)))


def test_huber_delta_changes_the_linear_part():
    t, p = np.zeros((2, 2), np.float32), np.array([[0.2, 3.0], [-2.0, 0.4]], np.float32)
    got = losses.Huber(delta=0.5)(torch.from_numpy(t), torch.from_numpy(p))
    assert float(got) == pytest.approx(np_huber(t, p, 0.5).mean(), rel=1e-6)


def test_hinge_keeps_signed_labels():
    t = np.array([[-1.0, 1.0]], np.float32)
    p = np.array([[0.3, -0.2]], np.float32)
    got = losses.hinge(torch.from_numpy(t), torch.from_numpy(p))
    np.testing.assert_allclose(got.numpy(), [np.mean([1.3, 1.2])], rtol=1e-6)


def test_labels_without_trailing_axis_are_per_sample():
    """y_true (n,) against y_pred (n, 1) must not broadcast to (n, n)."""
    t = np.array([1.0, 2.0, 3.0], np.float32)
    p = np.array([[1.5], [2.0], [5.0]], np.float32)
    per_sample = losses.MeanSquaredError(reduction="none")(torch.from_numpy(t),
                                                           torch.from_numpy(p))
    np.testing.assert_allclose(per_sample.numpy(), [0.25, 0.0, 4.0])


def test_integer_labels_are_cast():
    got = losses.mae(torch.tensor([[1], [3]]), torch.tensor([[1.5], [2.0]]))
    np.testing.assert_allclose(got.numpy(), [0.5, 1.0])


def test_mse_gradient_flows():
    p = torch.tensor([[1.0, 2.0]], requires_grad=True)
    losses.MeanSquaredError()(torch.tensor([[0.0, 0.0]]), p).backward()
    np.testing.assert_allclose(p.grad.numpy(), [[1.0, 2.0]])


def test_function_aliases_are_the_same_functions():
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.mae is losses.MAE is losses.mean_absolute_error
    assert losses.mape is losses.MAPE is losses.mean_absolute_percentage_error
    assert losses.msle is losses.MSLE is losses.mean_squared_logarithmic_error
    assert losses.kld is losses.KLD is losses.kullback_leibler_divergence is losses.kl_divergence
    assert losses.logcosh is losses.log_cosh
