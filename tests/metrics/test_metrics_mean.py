"""Mean-of-function metrics (regression, loss-named, accuracy, top-k) over several batches."""

import numpy as np
import pytest
import torch

from savepoint import metrics

RNG = np.random.default_rng(2)
EPS = 1e-7


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_cosine(t, p):
    return np.sum(t / np.linalg.norm(t, axis=-1, keepdims=True)
                  * p / np.linalg.norm(p, axis=-1, keepdims=True), axis=-1)


def np_signed(t): return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_scce(labels, probs):
    logp = np.log(np.clip(probs, EPS, 1 - EPS))
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def np_in_top_k(labels, scores, k):
    target = scores[np.arange(len(labels)), labels]
    return ((scores > target[:, None]).sum(-1) < k).astype(np.float32)


def reg_batch():
    return (RNG.uniform(0.1, 2, (4, 3)).astype(np.float32),
            RNG.uniform(0.1, 2, (4, 3)).astype(np.float32))


def prob_batch():
    return (RNG.integers(0, 2, (4, 3)).astype(np.float32),
            RNG.uniform(0.05, 0.95, (4, 3)).astype(np.float32))


def dist_batch():
    t, p = RNG.uniform(0.1, 1, (4, 3)), RNG.uniform(0.1, 1, (4, 3))
    return ((t / t.sum(-1, keepdims=True)).astype(np.float32),
            (p / p.sum(-1, keepdims=True)).astype(np.float32))


def sparse_batch():
    return RNG.integers(0, 5, (4,)), softmax(RNG.normal(size=(4, 5))).astype(np.float32)


def onehot_batch():
    labels, probs = sparse_batch()
    return np.eye(5, dtype=np.float32)[labels], probs


CASES = [  # class, default name, batch maker, per-sample numpy reference
    (metrics.MeanSquaredError, "mean_squared_error", reg_batch,
     lambda t, p: np.mean((p - t) ** 2, -1)),
    (metrics.MeanAbsoluteError, "mean_absolute_error", reg_batch,
     lambda t, p: np.mean(np.abs(p - t), -1)),
    (metrics.MeanAbsolutePercentageError, "mean_absolute_percentage_error", reg_batch,
     lambda t, p: 100 * np.mean(np.abs(t - p) / np.abs(t), -1)),
    (metrics.MeanSquaredLogarithmicError, "mean_squared_logarithmic_error", reg_batch,
     lambda t, p: np.mean((np.log1p(p) - np.log1p(t)) ** 2, -1)),
    (metrics.CosineSimilarity, "cosine_similarity", reg_batch, np_cosine),
    (metrics.LogCoshError, "logcosh", reg_batch, lambda t, p: np.mean(np.log(np.cosh(p - t)), -1)),
    (metrics.Hinge, "hinge", prob_batch,
     lambda t, p: np.mean(np.maximum(1 - np_signed(t) * p, 0), -1)),
    (metrics.SquaredHinge, "squared_hinge", prob_batch,
     lambda t, p: np.mean(np.maximum(1 - np_signed(t) * p, 0) ** 2, -1)),
    (metrics.KLDivergence, "kullback_leibler_divergence", dist_batch,
     lambda t, p: np.sum(t * np.log(t / p), -1)),
    (metrics.Poisson, "poisson", reg_batch, lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
    (metrics.BinaryCrossentropy, "binary_crossentropy", prob_batch,
     lambda t, p: -np.mean(t * np.log(p + EPS) + (1 - t) * np.log(1 - p + EPS), -1)),
    (metrics.CategoricalCrossentropy, "categorical_crossentropy", onehot_batch,
     lambda t, p: -np.sum(t * np.log(p / p.sum(-1, keepdims=True)), -1)),
    (metrics.SparseCategoricalCrossentropy, "sparse_categorical_crossentropy", sparse_batch,
     np_scce),
    (metrics.BinaryAccuracy, "binary_accuracy", prob_batch,
     lambda t, p: np.mean((p > 0.5) == (t == 1), -1)),
    (metrics.CategoricalAccuracy, "categorical_accuracy", onehot_batch,
     lambda t, p: (t.argmax(-1) == p.argmax(-1)).astype(np.float32)),
    (metrics.SparseCategoricalAccuracy, "sparse_categorical_accuracy", sparse_batch,
     lambda t, p: (t == p.argmax(-1)).astype(np.float32)),
    (metrics.TopKCategoricalAccuracy, "top_k_categorical_accuracy", onehot_batch,
     lambda t, p: np_in_top_k(t.argmax(-1), p, 5)),
    (metrics.SparseTopKCategoricalAccuracy, "sparse_top_k_categorical_accuracy", sparse_batch,
     lambda t, p: np_in_top_k(t, p, 5)),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.mark.parametrize("cls,name,make,ref", CASES, ids=IDS)
def test_weighted_mean_over_batches_and_reset(cls, name, make, ref):
    m = cls()
    assert m.name == name
    assert float(m.result()) == 0.0
    values, weights = [], []
    for step in range(3):
        t, p = make()
        w = RNG.uniform(0, 2, size=len(t)).astype(np.float32) if step != 1 else None
        m.update_state(torch.from_numpy(t), torch.from_numpy(p), sample_weight=w)
        values.append(ref(t, p))
        weights.append(np.ones(len(t), np.float32) if w is None else w)
    result = m.result()
    assert isinstance(result, torch.Tensor) and result.dim() == 0
    v, w = np.concatenate(values), np.concatenate(weights)
    assert float(result) == pytest.approx(float((v * w).sum() / w.sum()), rel=1e-5, abs=1e-6)
    m.reset_state()
    assert float(m.result()) == 0.0
    t, p = make()
    m.update_state(t, p)
    assert float(m.result()) == pytest.approx(float(ref(t, p).mean()), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("cls,name,make,ref", CASES, ids=IDS)
def test_config_round_trip(cls, name, make, ref):
    m = cls(name="custom")
    config = m.get_config()
    rebuilt = metrics.deserialize(metrics.serialize(m))
    assert type(rebuilt) is cls and rebuilt.get_config() == config
    assert cls.from_config(config).get_config() == config
    t, p = make()
    m.update_state(t, p)
    rebuilt.update_state(t, p)
    assert torch.equal(m.result(), rebuilt.result())


def test_state_stays_a_tensor_on_the_input_device():
    m = metrics.MeanSquaredError()
    m.update_state(torch.zeros(2, 1), torch.ones(2, 1))
    assert {v.name for v in m.variables} == {"total", "count"}
    assert all(isinstance(v.value, torch.Tensor) for v in m.variables)


def test_labels_without_trailing_axis_are_per_sample():
    m = metrics.MeanAbsoluteError()
    m.update_state(np.array([1.0, 2.0]), np.array([[1.5], [4.0]], np.float32))
    assert float(m.result()) == pytest.approx(1.25)


def test_sample_weight_with_trailing_axis():
    m = metrics.MeanSquaredError()
    m.update_state(np.zeros((2, 1)), np.array([[1.0], [3.0]], np.float32),
                   sample_weight=np.array([[1.0], [3.0]]))
    assert float(m.result()) == pytest.approx((1 + 27) / 4)


def test_root_mean_squared_error_over_batches():
    m = metrics.RootMeanSquaredError()
    sq, ws = [], []
    for _ in range(3):
        t, p = reg_batch()
        w = RNG.uniform(0, 2, size=4).astype(np.float32)
        m.update_state(t, p, sample_weight=w)
        sq.append((p - t) ** 2)
        ws.append(np.broadcast_to(w[:, None], (4, 3)))
    sq, ws = np.concatenate(sq), np.concatenate(ws)
    assert m.name == "root_mean_squared_error"
    assert float(m.result()) == pytest.approx(float(np.sqrt((sq * ws).sum() / ws.sum())), rel=1e-5)
    m.reset_state()
    assert float(m.result()) == 0.0
    config = m.get_config()
    assert metrics.RootMeanSquaredError.from_config(config).get_config() == config


def test_top_k_with_k_and_ties():
    scores = np.array([[0.3, 0.3, 0.3, 0.1], [0.1, 0.2, 0.3, 0.4]], np.float32)
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state(np.array([2, 0]), scores)
    assert float(m.result()) == pytest.approx(0.5)  # a tie at the boundary counts as in top k
    assert m.get_config()["k"] == 1
    rebuilt = metrics.SparseTopKCategoricalAccuracy.from_config(m.get_config())
    assert rebuilt.get_config() == m.get_config()
    t = metrics.TopKCategoricalAccuracy(k=2)
    t.update_state(np.eye(4, dtype=np.float32)[[3, 3]], scores)
    assert float(t.result()) == pytest.approx(0.5)


def test_sparse_crossentropy_metric_ignore_class():
    labels = np.array([0, 9, 2, 9])
    probs = softmax(RNG.normal(size=(4, 3))).astype(np.float32)
    m = metrics.SparseCategoricalCrossentropy(ignore_class=9)
    m.update_state(labels, probs)
    valid = labels != 9
    assert float(m.result()) == pytest.approx(float(np_scce(labels[valid], probs[valid]).mean()),
                                              rel=1e-5)


def test_mean_and_sum():
    mean, total = metrics.Mean(), metrics.Sum()
    for values in ([1.0, 2.0], [5.0]):
        mean.update_state(values)
        total.update_state(values)
    assert float(mean.result()) == pytest.approx(8 / 3)
    assert float(total.result()) == pytest.approx(8.0)
