"""Confusion-matrix metrics (counts, Precision, Recall, AUC) against numpy over several batches."""

import numpy as np
import pytest
import torch

from savepoint import metrics
from savepoint.errors import ConfigError

RNG = np.random.default_rng(3)
EPS = 1e-7


def batches(n=3, size=16, dims=(1,)):
    out = []
    for i in range(n):
        t = RNG.integers(0, 2, size=(size, *dims)).astype(np.float32)
        p = np.clip(0.35 * t + RNG.uniform(0, 0.65, size=(size, *dims)), 0, 1).astype(np.float32)
        w = None if i == 0 else RNG.uniform(0, 2, size=size).astype(np.float32)
        out.append((t, p, w))
    return out


def np_counts(data, thresholds):
    """Weighted tp, fp, tn, fn per threshold over all batches (pred > threshold is positive)."""
    t = np.concatenate([b[0].reshape(len(b[0]), -1) for b in data])
    p = np.concatenate([b[1].reshape(len(b[1]), -1) for b in data])
    w = np.concatenate([np.ones(len(b[0])) if b[2] is None else b[2] for b in data])
    w = np.broadcast_to(w[:, None], t.shape).ravel()
    t, p = t.ravel() != 0, p.ravel()
    pred = p[None, :] > np.asarray(thresholds)[:, None]
    return ((pred & t) * w).sum(1), ((pred & ~t) * w).sum(1), ((~pred & ~t) * w).sum(1), \
        ((~pred & t) * w).sum(1)


def feed(metric, data):
    for t, p, w in data:
        metric.update_state(torch.from_numpy(t), torch.from_numpy(p), sample_weight=w)


@pytest.mark.parametrize("cls,index", [(metrics.TruePositives, 0), (metrics.FalsePositives, 1),
                                       (metrics.TrueNegatives, 2), (metrics.FalseNegatives, 3)])
def test_counts(cls, index):
    data = batches()
    single, several = cls(), cls(thresholds=[0.7, 0.2, 0.5])
    feed(single, data)
    feed(several, data)
    assert float(single.result()) == pytest.approx(np_counts(data, [0.5])[index][0], rel=1e-5)
    np.testing.assert_allclose(several.result().numpy(),
                               np_counts(data, [0.7, 0.2, 0.5])[index], rtol=1e-5)
    single.reset_state()
    assert float(single.result()) == 0.0
    config = several.get_config()
    rebuilt = metrics.deserialize(metrics.serialize(several))
    assert type(rebuilt) is cls and rebuilt.get_config() == config


@pytest.mark.parametrize("cls,other", [(metrics.Precision, 1), (metrics.Recall, 3)])
def test_precision_recall(cls, other):
    data = batches(dims=(2,))
    m = cls()
    feed(m, data)
    tp, *rest = np_counts(data, [0.5])
    expected = tp[0] / (tp[0] + rest[other - 1][0])
    result = m.result()
    assert isinstance(result, torch.Tensor) and result.dim() == 0
    assert float(result) == pytest.approx(expected, rel=1e-5)
    multi = cls(thresholds=[0.3, 0.8])
    feed(multi, data)
    tp, *rest = np_counts(data, [0.3, 0.8])
    np.testing.assert_allclose(multi.result().numpy(), tp / (tp + rest[other - 1]), rtol=1e-5)
    m.reset_state()
    assert float(m.result()) == 0.0


@pytest.mark.parametrize("cls", [metrics.Precision, metrics.Recall])
def test_precision_recall_class_id_and_top_k(cls):
    t = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    p = np.array([[0.2, 0.6, 0.7], [0.9, 0.1, 0.4], [0.3, 0.1, 0.2]], np.float32)
    by_class = cls(class_id=2)
    by_class.update_state(t, p)
    # class 2: predictions [0.7, 0.4, 0.2] > 0.5 -> [1, 0, 0]; labels [0, 0, 1]: tp=0, fp=1, fn=1
    assert float(by_class.result()) == 0.0
    top1 = cls(top_k=1)
    top1.update_state(t, p)
    # top-1 kept per row: (0, col 2), (1, col 0), (2, col 0): tp=1, fp=2, fn=2
    assert float(top1.result()) == pytest.approx(1 / 3)
    config = top1.get_config()
    assert config["top_k"] == 1 and config["class_id"] is None and config["thresholds"] is None
    assert cls.from_config(config).get_config() == config


def np_auc(data, num_thresholds=200, curve="ROC", method="interpolation"):
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    tp, fp, tn, fn = np_counts(data, [-EPS] + inner + [1 + EPS])
    safe = lambda a, b: np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)  # noqa: E731
    recall = safe(tp, tp + fn)
    x, y = (safe(fp, fp + tn), recall) if curve == "ROC" else (recall, safe(tp, tp + fp))
    pairs = np.stack([y[:-1], y[1:]])
    heights = {"interpolation": pairs.mean(0), "minoring": pairs.min(0),
               "majoring": pairs.max(0)}[method]
    return float(np.sum((x[:-1] - x[1:]) * heights))


def exact_roc_auc(data):
    t = np.concatenate([b[0].ravel() for b in data]) != 0
    p = np.concatenate([b[1].ravel() for b in data])
    pos, neg = p[t], p[~t]
    return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())


@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
def test_auc_roc_matches_numpy(method):
    data = batches(n=3, size=32)
    m = metrics.AUC(summation_method=method)
    feed(m, data)
    assert float(m.result()) == pytest.approx(np_auc(data, method=method), rel=1e-5)
    unweighted = [(t, p, None) for t, p, _ in data]
    exact = metrics.AUC()
    feed(exact, unweighted)
    assert float(exact.result()) == pytest.approx(exact_roc_auc(unweighted), abs=0.01)


def test_auc_pr_curves():
    data = batches(size=32)
    m = metrics.AUC(curve="PR", summation_method="majoring", num_thresholds=50)
    feed(m, data)
    assert float(m.result()) == pytest.approx(np_auc(data, 50, "PR", "majoring"), rel=1e-5)
    interp = metrics.AUC(curve="PR")
    feed(interp, data)
    # Davis-Goadrich interpolation lies between the lower and upper Riemann sums
    low, high = np_auc(data, curve="PR", method="minoring"), np_auc(data, curve="PR",
                                                                    method="majoring")
    assert low - 1e-4 <= float(interp.result()) <= high + 1e-4


def test_auc_from_logits_thresholds_reset_and_config():
    data = batches()
    logits = [(t, np.log(np.clip(p, 1e-3, 1 - 1e-3) / (1 - np.clip(p, 1e-3, 1 - 1e-3))), w)
              for t, p, w in data]
    probs = [(t, 1 / (1 + np.exp(-x)), w) for t, x, w in logits]
    a, b = metrics.AUC(from_logits=True), metrics.AUC()
    feed(a, [(t, x.astype(np.float32), w) for t, x, w in logits])
    feed(b, [(t, p.astype(np.float32), w) for t, p, w in probs])
    assert float(a.result()) == pytest.approx(float(b.result()), abs=1e-6)
    custom = metrics.AUC(thresholds=[0.25, 0.5, 0.75], name="auc_3")
    assert custom.num_thresholds == 5 and custom.name == "auc_3"
    config = custom.get_config()
    rebuilt = metrics.deserialize(metrics.serialize(custom))
    assert type(rebuilt) is metrics.AUC and rebuilt.get_config() == config
    feed(custom, data)
    feed(rebuilt, data)
    assert torch.equal(custom.result(), rebuilt.result())
    custom.reset_state()
    assert float(custom.result()) == 0.0
    assert {v.name for v in custom.variables} == {"true_positives", "false_positives",
                                                  "true_negatives", "false_negatives"}


@pytest.mark.parametrize("kwargs,message", [
    ({"curve": "XY"}, r"Invalid AUC curve 'XY'. Expected 'ROC' or 'PR'"),
    ({"summation_method": "avg"}, r"Invalid AUC summation_method 'avg'"),
    ({"num_thresholds": 1}, r"AUC needs num_thresholds > 1. Received: 1"),
    ({"multi_label": True}, r"multi_label=True.*not supported"),
    ({"thresholds": [0.5, 1.5]}, r"Threshold values must be in \[0, 1\]"),
])
def test_auc_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        metrics.AUC(**kwargs)


def test_precision_bad_threshold():
    with pytest.raises(ConfigError, match=r"Threshold values must be in \[0, 1\]. Received: 2"):
        metrics.Precision(thresholds=2)
