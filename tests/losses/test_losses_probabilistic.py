"""Cross-entropy losses against independent numpy formulas: logits, smoothing, weights, masks."""

import numpy as np
import pytest
import torch

from savepoint import losses
from savepoint.errors import ConfigError, ShapeError

EPS = 1e-7
RNG = np.random.default_rng(1)
LOGITS = RNG.normal(size=(5, 4)).astype(np.float32)
LABELS = np.array([0, 3, 1, 2, 3])
ONE_HOT = np.eye(4, dtype=np.float32)[LABELS]
SW = np.array([1.0, 2.0, 0.0, 0.5, 1.5], np.float32)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x): return 1 / (1 + np.exp(-x))


def np_cce(onehot, probs, smoothing=0.0):
    onehot = onehot * (1 - smoothing) + smoothing / onehot.shape[-1]
    probs = np.clip(probs / probs.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(onehot * np.log(probs), axis=-1)


def np_scce(labels, probs):
    logp = np.log(np.clip(probs, EPS, 1 - EPS))
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def np_bce(t, p, smoothing=0.0):
    t = t * (1 - smoothing) + 0.5 * smoothing
    p = np.clip(p, EPS, 1 - EPS)
    return -np.mean(t * np.log(p + EPS) + (1 - t) * np.log(1 - p + EPS), axis=-1)


def np_bce_logits(t, x, smoothing=0.0):
    t = t * (1 - smoothing) + 0.5 * smoothing
    return np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))), axis=-1)


def _reduce(values, reduction, sw=None):
    values = values if sw is None else values * sw
    return {"sum_over_batch_size": values.sum() / values.size, "sum": values.sum(),
            "none": values}[reduction]


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_sparse_categorical_crossentropy(from_logits, reduction):
    y_pred = LOGITS if from_logits else softmax(LOGITS)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=reduction)
    got = loss(torch.from_numpy(LABELS), torch.from_numpy(y_pred), sample_weight=SW)
    expected = _reduce(np_scce(LABELS, softmax(LOGITS)), reduction, SW)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_sparse_labels_with_trailing_axis_and_float_dtype():
    got = losses.sparse_categorical_crossentropy(
        torch.from_numpy(LABELS[:, None].astype(np.float32)), torch.from_numpy(softmax(LOGITS)))
    np.testing.assert_allclose(got.numpy(), np_scce(LABELS, softmax(LOGITS)), rtol=1e-5)


def test_sparse_unnormalized_probabilities_follow_keras():
    probs = np.array([[0.2, 0.2, 0.9]], np.float32)
    got = losses.sparse_categorical_crossentropy(torch.tensor([2]), torch.from_numpy(probs))
    np.testing.assert_allclose(got.numpy(), np_scce(np.array([2]), probs), rtol=1e-6)


@pytest.mark.parametrize("bad,shown", [(4, "4"), (-1, "-1")])
def test_sparse_out_of_range_labels_raise(bad, shown):
    labels = torch.tensor([0, bad, 1, 2, 3])
    with pytest.raises(ConfigError, match=rf"label value of {shown} which is outside the valid "
                                          r"range of \[0, 3\].*4 classes.*size of the last layer"):
        losses.SparseCategoricalCrossentropy()(labels, torch.from_numpy(softmax(LOGITS)))


def test_sparse_ignore_class_masks_and_rescales():
    labels = np.array([0, 255, 1, 255, 3])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    got = loss(torch.from_numpy(labels), torch.from_numpy(LOGITS))
    valid = labels != 255
    expected = np_scce(labels[valid], softmax(LOGITS[valid])).sum() / valid.sum()
    assert float(got) == pytest.approx(expected, rel=1e-5)
    per_sample = losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=255, reduction="none")(torch.from_numpy(labels),
                                                              torch.from_numpy(LOGITS))
    assert per_sample.numpy()[~valid].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_categorical_crossentropy(from_logits, smoothing, reduction):
    y_pred = LOGITS if from_logits else softmax(LOGITS)
    loss = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing,
                                          reduction=reduction)
    got = loss(torch.from_numpy(ONE_HOT), torch.from_numpy(y_pred), sample_weight=SW)
    expected = _reduce(np_cce(ONE_HOT, softmax(LOGITS), smoothing), reduction, SW)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_categorical_with_integer_labels_raises():
    with pytest.raises(ShapeError, match=r"one-hot labels shaped like the predictions \(5, 4\)"
                                         r".*Received labels of shape \(5,\).*sparse_categorical"):
        losses.categorical_crossentropy(torch.from_numpy(LABELS), torch.from_numpy(LOGITS))


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_binary_crossentropy(from_logits, smoothing, reduction):
    t = RNG.integers(0, 2, size=(5, 2)).astype(np.float32)
    y_pred = LOGITS[:, :2] if from_logits else sigmoid(LOGITS[:, :2])
    loss = losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=smoothing,
                                     reduction=reduction)
    got = loss(torch.from_numpy(t), torch.from_numpy(y_pred), sample_weight=SW)
    ref = np_bce_logits(t, LOGITS[:, :2], smoothing) if from_logits else \
        np_bce(t, y_pred, smoothing)
    np.testing.assert_allclose(got.numpy(), _reduce(ref, reduction, SW), rtol=1e-4, atol=1e-6)


def test_binary_labels_without_trailing_axis():
    t = np.array([1.0, 0.0, 1.0], np.float32)
    p = np.array([[0.9], [0.2], [0.4]], np.float32)
    got = losses.BinaryCrossentropy(reduction="none")(torch.from_numpy(t), torch.from_numpy(p))
    np.testing.assert_allclose(got.numpy(), np_bce(t[:, None], p), rtol=1e-6)


@pytest.mark.parametrize("cls,kwargs", [
    (losses.SparseCategoricalCrossentropy, {"from_logits": True, "ignore_class": 3}),
    (losses.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1}),
    (losses.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1}),
])
def test_crossentropy_config_round_trip(cls, kwargs):
    loss = cls(reduction="sum", name="xent", **kwargs)
    config = loss.get_config()
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == config
    assert cls.from_config(config).get_config() == config
    t = torch.from_numpy(LABELS if cls is losses.SparseCategoricalCrossentropy else
                         ONE_HOT if cls is losses.CategoricalCrossentropy else ONE_HOT[:, :1])
    p = torch.from_numpy(LOGITS if cls is not losses.BinaryCrossentropy else LOGITS[:, :1])
    assert torch.equal(loss(t, p), again(t, p))
