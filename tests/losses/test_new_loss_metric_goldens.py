"""BinaryFocalCrossentropy, CategoricalHinge, MeanIoU, F1Score/FBetaScore, R2Score and the
CategoricalHinge metric against real tf.keras (tools/make_loss_metric_goldens.py): values,
unreduced values, gradients, weighted updates, state variables and configs."""

import json
import os
import re

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, ShapeError

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "losses_metrics")
G = np.load(os.path.join(DIR, "values.npz"))
with open(os.path.join(DIR, "cases.json")) as f:
    CASES = json.load(f)
LOSSES = [c for c in CASES if c["kind"] == "loss"]
METRICS = [c for c in CASES if c["kind"] == "metric"]
TOL = dict(rtol=1e-5, atol=1e-6)


def arr(name):
    return G[f"in__{name}"]


@pytest.mark.parametrize("case", LOSSES, ids=[c["case"] for c in LOSSES])
def test_losses_match_tf_keras(case):
    t, p = case["inputs"]
    name = case["case"]
    loss = getattr(keras.losses, case["class_name"])(**case["kwargs"])
    y_pred = torch.tensor(arr(p), requires_grad=True)
    value = loss(torch.tensor(arr(t)), y_pred)
    value.backward()
    np.testing.assert_allclose(value.detach().numpy(), G[f"{name}__value"], **TOL)
    np.testing.assert_allclose(y_pred.grad.numpy(), G[f"{name}__grad"], **TOL)
    weighted = loss(arr(t), torch.tensor(arr(p)), sample_weight=arr("sw"))
    np.testing.assert_allclose(weighted.numpy(), G[f"{name}__weighted"], **TOL)
    none = getattr(keras.losses, case["class_name"])(**{**case["kwargs"], "reduction": "none"})
    np.testing.assert_allclose(none(arr(t), torch.tensor(arr(p))).numpy(), G[f"{name}__none"],
                               **TOL)
    config = loss.get_config()
    for key, value in case["config"].items():
        if key not in ("reduction", "fn"):  # the keras2 dialect adds and strips "fn"
            assert config[key] == value, key
    assert type(loss).from_config(config).get_config() == config
    assert type(keras.losses.get(config["name"])) is type(loss)


@pytest.mark.parametrize("case", METRICS, ids=[c["case"] for c in METRICS])
def test_metrics_match_tf_keras(case):
    t, p = case["inputs"]
    name = case["case"]
    metric = getattr(keras.metrics, case["class_name"])(**case["kwargs"])
    half = len(arr("sw")) // 2
    metric.update_state(arr(t)[:half], torch.tensor(arr(p)[:half]))
    np.testing.assert_allclose(metric.result().numpy(), G[f"{name}__first"], **TOL)
    metric.update_state(arr(t)[half:], torch.tensor(arr(p)[half:]),
                        sample_weight=arr("sw")[half:])
    np.testing.assert_allclose(metric.result().numpy(), G[f"{name}__second"], **TOL)
    names = [str(n) for n in G[f"{name}__varnames"]]
    ours = {v.path.split("/")[-1]: v.numpy() for v in metric.variables}
    for i, var_name in enumerate(names):
        np.testing.assert_allclose(ours[var_name], G[f"{name}__var{i}"], **TOL)
    config = metric.get_config()
    for key, value in case["config"].items():
        if key == "name":  # tf.keras numbers the default name of later instances (_3)
            value = re.sub(r"_\d+$", "", value)
        assert config[key] == value, key
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    metric.reset_state()
    metric.update_state(arr(t)[:half], torch.tensor(arr(p)[:half]))
    np.testing.assert_allclose(metric.result().numpy(), G[f"{name}__first"], **TOL)


def test_functional_forms_and_names():
    y, p = torch.tensor(arr("bin_true")), torch.tensor(arr("bin_prob"))
    np.testing.assert_allclose(keras.losses.binary_focal_crossentropy(y, p).numpy(),
                               G["bfce__none"], **TOL)
    y, p = torch.tensor(arr("onehot")), torch.tensor(arr("scores"))
    np.testing.assert_allclose(keras.losses.categorical_hinge(y, p).numpy(),
                               G["chinge__none"], **TOL)
    assert type(keras.metrics.get("categorical_hinge")).__name__ == "CategoricalHinge"


def test_new_losses_and_metrics_train_with_fit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile("adam", keras.losses.BinaryFocalCrossentropy(),
                  metrics=[keras.metrics.F1Score(threshold=0.5), keras.metrics.R2Score()])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert {"loss", "f1_score", "r2_score"} <= set(history.history)


def test_errors():
    with pytest.raises(ConfigError, match="Invalid `average` argument value. Expected one of: "
                                          "{None, 'micro', 'macro', 'weighted'}. Received: "
                                          "average=mean"):
        keras.metrics.F1Score(average="mean")
    with pytest.raises(ConfigError, match="Invalid `beta` argument value. It should be a Python "
                                          "float"):
        keras.metrics.FBetaScore(beta=2)
    with pytest.raises(ConfigError, match="Invalid value for argument `class_aggregation`"):
        keras.metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ShapeError, match="R2Score expects 2D inputs with shape"):
        keras.metrics.R2Score().update_state([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ConfigError, match="Expected num_classes to be a positive int. Received: "
                                          "num_classes=0"):
        keras.metrics.MeanIoU(num_classes=0)
    with pytest.raises(ConfigError, match="Expected gamma to be a non-negative float. Received: "
                                          "gamma=-1"):
        keras.losses.BinaryFocalCrossentropy(gamma=-1)


@pytest.mark.parametrize("suffix", ["m.h5", "m.keras", "m_dir"])
def test_compiled_model_round_trips_new_losses_and_metrics(tmp_path, suffix):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("adam", keras.losses.CategoricalHinge(),
                  metrics=[keras.metrics.F1Score(average="macro"),
                           keras.metrics.MeanIoU(num_classes=3, sparse_y_true=False,
                                                 sparse_y_pred=False),
                           keras.metrics.CategoricalHinge()])
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / suffix)
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    focal = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
    focal.compile("sgd", keras.losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True),
                  metrics=[keras.metrics.R2Score()])
    focal.fit(x, y[:, :1], epochs=1, verbose=0)
    focal.save(path + "2" + os.path.splitext(suffix)[1])
    again = keras.models.load_model(path + "2" + os.path.splitext(suffix)[1])
    assert again.loss.gamma == 3.0 and again.loss.from_logits


def test_per_class_metrics_in_fit_logs(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("adam", "categorical_crossentropy", metrics=[keras.metrics.F1Score()])
    history = model.fit(x, y, epochs=2, verbose=2, validation_data=(x, y),
                        callbacks=[keras.callbacks.TensorBoard(str(tmp_path))])
    assert np.asarray(history.history["f1_score"][0]).shape == (3,)  # as tf.keras's logs
    assert np.asarray(model.evaluate(x, y, verbose=0)[1]).shape == (3,)
