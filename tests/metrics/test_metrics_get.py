"""``metrics.get``: Keras aliases, names as written, shape-matched accuracy, errors; and compile."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import losses, metrics
from savepoint.errors import ConfigError


@pytest.mark.parametrize("alias,cls,name", [
    ("mse", metrics.MeanSquaredError, "mse"), ("MSE", metrics.MeanSquaredError, "MSE"),
    ("mean_squared_error", metrics.MeanSquaredError, "mean_squared_error"),
    ("mae", metrics.MeanAbsoluteError, "mae"),
    ("mean_absolute_error", metrics.MeanAbsoluteError, "mean_absolute_error"),
    ("mape", metrics.MeanAbsolutePercentageError, "mape"),
    ("msle", metrics.MeanSquaredLogarithmicError, "msle"),
    ("root_mean_squared_error", metrics.RootMeanSquaredError, "root_mean_squared_error"),
    ("logcosh", metrics.LogCoshError, "logcosh"),
    ("cosine_similarity", metrics.CosineSimilarity, "cosine_similarity"),
    ("kld", metrics.KLDivergence, "kld"), ("poisson", metrics.Poisson, "poisson"),
    ("hinge", metrics.Hinge, "hinge"), ("squared_hinge", metrics.SquaredHinge, "squared_hinge"),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalCrossentropy,
     "sparse_categorical_crossentropy"),
    ("binary_crossentropy", metrics.BinaryCrossentropy, "binary_crossentropy"),
    ("categorical_crossentropy", metrics.CategoricalCrossentropy, "categorical_crossentropy"),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy,
     "top_k_categorical_accuracy"),
    ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy,
     "sparse_top_k_categorical_accuracy"),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy,
     "sparse_categorical_accuracy"),
    ("precision", metrics.Precision, "precision"), ("recall", metrics.Recall, "recall"),
    ("auc", metrics.AUC, "auc"), ("AUC", metrics.AUC, "auc"),
    ("MeanSquaredError", metrics.MeanSquaredError, "mean_squared_error"),
])
def test_get_aliases_keep_the_written_name(alias, cls, name):
    m = metrics.get(alias)
    assert type(m) is cls and m.name == name


def test_loss_named_metric_matches_the_loss():
    labels = torch.tensor([0, 2, 1])
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    m = metrics.get("sparse_categorical_crossentropy")
    m.update_state(labels, probs)
    expected = losses.SparseCategoricalCrossentropy()(labels, probs)
    assert float(m.result()) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("y_true,y_pred,chosen", [
    (np.array([[1.0], [0.0]]), np.array([[0.9], [0.8]]), "binary_accuracy"),
    (np.array([1, 0]), np.array([[0.1, 0.9], [0.8, 0.2]]), "sparse_categorical_accuracy"),
    (np.array([[1], [0]]), np.array([[0.1, 0.9], [0.8, 0.2]]), "sparse_categorical_accuracy"),
    (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.1, 0.9], [0.8, 0.2]]),
     "categorical_accuracy"),
])
@pytest.mark.parametrize("written", ["accuracy", "acc"])
def test_accuracy_is_chosen_from_shapes(y_true, y_pred, chosen, written):
    m = metrics.get(written, loss=losses.MeanSquaredError())
    m.update_state(y_true, y_pred.astype(np.float32))
    assert m.name == written and m.fn_name == chosen
    assert m.get_config()["fn"] == chosen
    rebuilt = metrics.deserialize(metrics.serialize(m))
    assert rebuilt.fn_name == chosen and rebuilt.get_config() == m.get_config()


@pytest.mark.parametrize("y_true,y_pred,chosen", [
    (np.array([[1.0], [0.0]]), np.array([[0.9], [0.2]]), "binary_crossentropy"),
    (np.array([1, 0]), np.array([[0.1, 0.9], [0.8, 0.2]]), "sparse_categorical_crossentropy"),
    (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.1, 0.9], [0.8, 0.2]]),
     "categorical_crossentropy"),
])
def test_crossentropy_is_chosen_from_shapes(y_true, y_pred, chosen):
    m = metrics.get("crossentropy")
    m.update_state(y_true, y_pred.astype(np.float32))
    assert m.fn_name == chosen
    assert float(m.result()) == pytest.approx((-np.log(0.9) - np.log(0.8)) / 2, rel=1e-5)


def test_accuracy_values_with_mse_and_one_output():
    """tf.keras 2: loss='mse' with one output unit gives binary accuracy (threshold 0.5)."""
    m = metrics.get("accuracy", loss=losses.get("mse"))
    m.update_state(np.array([1.0, 0.0, 1.0, 0.0]), np.array([[0.7], [0.6], [0.2], [0.1]],
                                                               np.float32))
    assert float(m.result()) == pytest.approx(0.5)


def test_get_passes_instances_configs_and_functions():
    auc = metrics.AUC(num_thresholds=10)
    assert metrics.get(auc) is auc
    assert metrics.get(metrics.serialize(auc)).num_thresholds == 10
    wrapped = metrics.get(metrics.binary_accuracy)
    assert wrapped.name == "binary_accuracy"
    wrapped.update_state([[1.0]], [[0.9]])
    assert float(wrapped.result()) == 1.0


def test_get_unknown_name_lists_choices():
    with pytest.raises(ConfigError, match=r"Unknown metric 'accuracyy'. Expected one of: "
                                          r"\[.*'acc', 'accuracy'.*'mae'.*\].*a Metric instance"):
        metrics.get("accuracyy")


def test_get_wrong_type_raises():
    with pytest.raises(ConfigError, match=r"Expected a metric name, Metric instance or function. "
                                          r"Received: 1.5 of type float"):
        metrics.get(1.5)


def test_unknown_function_in_config_raises():
    config = {"class_name": "MeanMetricWrapper", "config": {"name": "m", "dtype": "float32",
                                                          "fn": "no_such_fn"}}
    with pytest.raises(ConfigError, match=r"Unknown metric function 'no_such_fn'. Expected one "
                                          r"of \[.*'binary_accuracy'.*\]"):
        metrics.deserialize(config)


def test_compiled_regression_model_trains_with_keras_history_keys():
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = (x @ np.array([0.5, -1.0, 0.25], np.float32) > 0).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse", metrics=["mae", "accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "mae", "accuracy", "val_loss", "val_mae",
                                    "val_accuracy"}
    assert model.metrics_names == ["loss", "mae", "accuracy"]
    assert len(history.history["loss"]) == 3
    preds = model.predict(x[24:], verbose=0)
    results = model.evaluate(x[24:], y[24:], verbose=0, return_dict=True)
    assert results["mae"] == pytest.approx(float(np.abs(preds[:, 0] - y[24:]).mean()), rel=1e-5)
    assert results["loss"] == pytest.approx(float(((preds[:, 0] - y[24:]) ** 2).mean()),
                                            rel=1e-5)
    binary = float(((preds[:, 0] > 0.5) == (y[24:] == 1)).mean())
    assert results["accuracy"] == pytest.approx(binary)
