"""``evaluate``/``predict`` return forms and ``train_on_batch``/``test_on_batch``/
``predict_on_batch``, checked against numpy computations of the same quantities."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L

RNG = np.random.RandomState(1)
X = RNG.rand(12, 4).astype("float32")
Y = RNG.randint(0, 3, 12)


def _xent(logits, labels):
    logits = logits.astype("float64")
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def _model(metrics=None):
    model = keras.Sequential([L.Dense(3, input_shape=(4,))])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=metrics)
    return model


def test_evaluate_scalar_when_only_a_loss():
    model = _model()
    loss = model.evaluate(X, Y, batch_size=5, verbose=0)
    assert isinstance(loss, float)
    assert loss == pytest.approx(_xent(model.predict(X, verbose=0), Y).mean(), rel=1e-5)
    assert model.metrics_names == ["loss"]


def test_evaluate_list_and_dict_with_metrics():
    model = _model(metrics=["accuracy"])
    logits = model.predict(X, verbose=0)
    loss, acc = model.evaluate(X, Y, verbose=0)
    assert loss == pytest.approx(_xent(logits, Y).mean(), rel=1e-5)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == Y))
    as_dict = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert as_dict == {"loss": pytest.approx(loss), "accuracy": pytest.approx(acc)}
    assert model.metrics_names == ["loss", "accuracy"]
    from_tensors = model.evaluate(torch.from_numpy(X), torch.from_numpy(Y), verbose=0)
    assert from_tensors == pytest.approx([loss, acc])


def test_evaluate_and_predict_leave_weights_alone():
    model = _model(metrics=["accuracy"])
    before = model.get_weights()
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_predict_batches_concatenate_in_order():
    model = _model()
    k, b = model.get_weights()
    for batch_size in (1, 5, 12, 100):
        out = model.predict(X, batch_size=batch_size, verbose=0)
        assert isinstance(out, np.ndarray) and out.shape == (12, 3)
        np.testing.assert_allclose(out, X @ k + b, rtol=1e-5, atol=1e-6)


def test_predict_on_generators_and_loaders():
    model = _model()
    expected = model.predict(X, verbose=0)
    loader = torch.utils.data.DataLoader(torch.from_numpy(X), batch_size=5)
    np.testing.assert_array_equal(model.predict(loader, verbose=0), expected)
    batches = (X[i:i + 4] for i in range(0, 12, 4))
    np.testing.assert_array_equal(model.predict(batches, verbose=0), expected)


def test_multi_output_evaluate_and_predict_structure():
    x = keras.Input((4,), name="x")
    h = L.Dense(5, activation="relu")(x)
    model = keras.Model(x, [L.Dense(3, name="cls")(h), L.Dense(1, name="reg")(h)])
    model.compile("adam", [keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                           keras.losses.BinaryCrossentropy(from_logits=True)],
                  metrics=["accuracy"])
    pred = model.predict(X, batch_size=5, verbose=0)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(12, 3), (12, 1)]
    y2 = (X[:, :1] > 0.5).astype("float32")
    values = model.evaluate(X, [Y, y2], verbose=0)
    names = model.metrics_names
    assert names == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_accuracy"]
    logs = dict(zip(names, values))
    assert logs == model.evaluate(X, [Y, y2], verbose=0, return_dict=True)
    cls_loss = _xent(pred[0], Y).mean()
    z = pred[1].astype("float64")
    reg_loss = np.mean(np.maximum(z, 0) - z * y2 + np.log1p(np.exp(-np.abs(z))))
    assert logs["cls_loss"] == pytest.approx(cls_loss, rel=1e-5)
    assert logs["reg_loss"] == pytest.approx(reg_loss, rel=1e-5)
    assert logs["loss"] == pytest.approx(cls_loss + reg_loss, rel=1e-5)
    # Keras thresholds the raw output at 0.5 for "accuracy", even with from_logits=True
    assert logs["reg_accuracy"] == pytest.approx(np.mean((z > 0.5) == (y2 > 0.5)))


def test_train_on_batch_is_one_fit_step():
    a, b = _model(metrics=["accuracy"]), _model(metrics=["accuracy"])
    b.set_weights(a.get_weights())
    logits = a.predict(X, verbose=0)
    loss, acc = a.train_on_batch(X, Y)
    # the logs describe the batch before the update, as Keras reports them
    assert loss == pytest.approx(_xent(logits, Y).mean(), rel=1e-5)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == Y))
    b.fit(X, Y, batch_size=12, epochs=1, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    logs = a.train_on_batch(X, Y, return_dict=True)
    assert sorted(logs) == ["accuracy", "loss"]
    assert isinstance(_model().train_on_batch(X, Y), float)


def test_test_on_batch_and_predict_on_batch():
    model = _model(metrics=["accuracy"])
    before = model.get_weights()
    logits = model.predict_on_batch(X)
    assert isinstance(logits, np.ndarray) and logits.shape == (12, 3)
    np.testing.assert_allclose(logits, X @ before[0] + before[1], rtol=1e-5, atol=1e-6)
    loss, acc = model.test_on_batch(X, Y)
    assert loss == pytest.approx(_xent(logits, Y).mean(), rel=1e-5)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == Y))
    assert model.test_on_batch(X, Y, return_dict=True) == {"loss": pytest.approx(loss),
                                                            "accuracy": pytest.approx(acc)}
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
