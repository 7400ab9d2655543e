"""Models made of every convolution, pooling and reshaping layer round-trip bit for bit through
all four formats: TF checkpoint weights, Keras 2 ``.h5`` (whole model and weights), Keras 3
``.keras`` (and ``.weights.h5``) and the model directory."""

import pytest

import savepoint as keras
from saving_model_families import (assert_same_model, conv1d_family, conv2d_family, conv3d_family,
                                   save_and_reload, trained)

FAMILIES = [conv1d_family, conv2d_family, conv3d_family]


@pytest.mark.parametrize("factory", FAMILIES)
@pytest.mark.parametrize("target", ["my_model", "model.h5", "model.keras"])
def test_whole_model_round_trip(tmp_path, factory, target):
    model, x = trained(factory)
    loaded = save_and_reload(model, str(tmp_path / target))
    def configs(m):  # Keras 3 keeps the input shape in an InputLayer, not in the first layer
        return [{k: v for k, v in l.get_config().items() if k != "batch_input_shape"}
                for l in m.layers]
    assert configs(loaded) == configs(model)
    assert_same_model(model, loaded, x)


@pytest.mark.filterwarnings("ignore:.*were not used by the restored objects")  # optimizer slots
@pytest.mark.parametrize("factory", FAMILIES)
@pytest.mark.parametrize("target", ["ckpt/cp.ckpt", "w.h5", "w.weights.h5"])
def test_weights_round_trip(tmp_path, factory, target):
    model, x = trained(factory)
    path = str(tmp_path / target)
    model.save_weights(path)
    keras.backend.clear_session()
    fresh = factory()
    fresh.load_weights(path)
    assert_same_model(model, fresh, x)


def test_weight_names_are_keras_names():
    model = conv2d_family()
    names = [w.path for w in model.weights]
    assert "depthwise_conv2d/depthwise_kernel" in names
    assert "separable_conv2d/depthwise_kernel" in names
    assert "separable_conv2d/pointwise_kernel" in names
    shapes = {w.path: w.shape for w in model.weights}
    assert shapes["conv2d/kernel"] == (2, 2, 1, 4)              # (k, k, in/groups, out)
    assert shapes["depthwise_conv2d/depthwise_kernel"] == (3, 3, 4, 2)
    assert shapes["conv2d_transpose/kernel"] == (3, 3, 3, 4)    # (k, k, out, in)
