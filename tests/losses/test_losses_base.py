"""Loss base behaviour: reductions, sample_weight shapes, name lookup and its errors."""

import numpy as np
import pytest
import torch

from savepoint import losses
from savepoint.errors import ConfigError, ShapeError, UnknownObjectError


def test_sum_over_batch_size_divides_by_element_count():
    """Keras divides the weighted sum by the number of loss elements, not by sum(weights)."""
    t, p = torch.zeros(4, 1), torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    sw = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    got = losses.MeanSquaredError()(t, p, sample_weight=sw)
    assert float(got) == pytest.approx((1 + 16) / 4)


def test_sample_weight_with_trailing_axis_is_squeezed():
    t, p = torch.zeros(3, 2), torch.ones(3, 2)
    got = losses.MeanAbsoluteError(reduction="none")(t, p, sample_weight=[[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(got.numpy(), [1.0, 2.0, 3.0])


def test_sample_weight_broadcasts_over_timesteps():
    t, p = torch.zeros(2, 3, 1), torch.ones(2, 3, 1)
    got = losses.MeanSquaredError(reduction="sum")(t, p, sample_weight=np.array([1.0, 2.0]))
    assert float(got) == pytest.approx(3 * 1.0 + 3 * 2.0)
    mean = losses.MeanSquaredError()(t, p, sample_weight=np.array([1.0, 2.0]))
    assert float(mean) == pytest.approx(9.0 / 6)


def test_scalar_sample_weight_scales():
    got = losses.MeanSquaredError()(torch.zeros(2, 1), torch.ones(2, 1), sample_weight=3.0)
    assert float(got) == pytest.approx(3.0)


def test_bad_sample_weight_shape_raises():
    with pytest.raises(ShapeError, match=r"sample_weight of shape \(3,\) cannot be broadcast to "
                                         r"the per-sample losses of shape \(2,\).*shape \(2,\)"):
        losses.MeanSquaredError()(torch.zeros(2, 1), torch.ones(2, 1), sample_weight=[1, 2, 3])


def test_invalid_reduction_raises():
    with pytest.raises(ConfigError, match=r"Invalid reduction 'avg'.*sum_over_batch_size"):
        losses.MeanSquaredError(reduction="avg")


@pytest.mark.parametrize("alias,cls", [
    ("mse", losses.MeanSquaredError), ("MSE", losses.MeanSquaredError),
    ("mean_squared_error", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
    ("MAE", losses.MeanAbsoluteError), ("mean_absolute_error", losses.MeanAbsoluteError),
    ("mape", losses.MeanAbsolutePercentageError), ("MAPE", losses.MeanAbsolutePercentageError),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError),
    ("msle", losses.MeanSquaredLogarithmicError), ("MSLE", losses.MeanSquaredLogarithmicError),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError),
    ("huber", losses.Huber), ("huber_loss", losses.Huber), ("log_cosh", losses.LogCosh),
    ("logcosh", losses.LogCosh), ("cosine_similarity", losses.CosineSimilarity),
    ("hinge", losses.Hinge), ("squared_hinge", losses.SquaredHinge),
    ("kld", losses.KLDivergence), ("KLD", losses.KLDivergence),
    ("kl_divergence", losses.KLDivergence),
    ("kullback_leibler_divergence", losses.KLDivergence), ("poisson", losses.Poisson),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("binary_crossentropy", losses.BinaryCrossentropy), ("Huber", losses.Huber),
    ("MeanSquaredError", losses.MeanSquaredError),
])
def test_get_resolves_keras_aliases(alias, cls):
    assert type(losses.get(alias)) is cls


def test_get_passes_instances_and_wraps_functions():
    loss = losses.Huber(delta=2.0)
    assert losses.get(loss) is loss
    wrapped = losses.get(losses.mean_absolute_error)
    assert isinstance(wrapped, losses.LossFunctionWrapper)
    assert wrapped.name == "mean_absolute_error"
    assert float(wrapped(torch.zeros(2, 1), torch.ones(2, 1))) == 1.0
    config = losses.serialize(losses.Huber(delta=2.0))
    assert losses.get(config).delta == 2.0


def test_get_unknown_name_lists_choices():
    with pytest.raises(ConfigError, match=r"Unknown loss 'mean_sq_error'. Expected one of: "
                                          r"\[.*'mae'.*'mse'.*\].*a Loss instance or a function"):
        losses.get("mean_sq_error")


def test_get_wrong_type_raises():
    with pytest.raises(ConfigError, match=r"Expected a loss name, Loss instance or function. "
                                          r"Received: 3 of type int"):
        losses.get(3)


def test_deserialize_unknown_class_raises():
    with pytest.raises(UnknownObjectError, match=r"Could not locate loss 'NoSuchLoss'"):
        losses.deserialize({"class_name": "NoSuchLoss", "config": {}})
