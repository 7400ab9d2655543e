"""The inference cache of torch-layout conv kernels (``base_conv.kernel_to_torch``) and the
fused inference BatchNormalization: every way a weight changes must show in the next predict,
and training must still send gradients to the Keras-layout kernel."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.layers import (BatchNormalization, Conv1D, Conv2D, Conv3D, Input,
                              SeparableConv2D)
from savepoint.layers.convolutional.base_conv import kernel_to_torch


def conv_model() -> keras.Model:
    inputs = Input((6, 6, 3))
    x = Conv2D(4, 3, padding="same")(inputs)
    x = BatchNormalization()(x)
    outputs = SeparableConv2D(2, 3)(x)
    return keras.Model(inputs, outputs)


def reference(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The model's output from the uncached view path: autograd records for every kernel."""
    with torch.enable_grad():
        return model(torch.from_numpy(x)).detach().numpy()


@pytest.fixture
def data(rng):
    return rng.normal(size=(4, 6, 6, 3)).astype("float32")


def test_predict_matches_uncached_path(data):
    model = conv_model()
    np.testing.assert_allclose(model.predict(data, verbose=0), reference(model, data),
                               atol=1e-6)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_cached_kernel_is_channels_last_copy_of_the_view(rank):
    kernel = torch.randn(*([3] * rank), 4, 5)
    with torch.no_grad():
        first = kernel_to_torch(kernel, rank)
        assert kernel_to_torch(kernel, rank) is first  # reused while unchanged
    assert torch.equal(first, kernel.permute(rank + 1, rank, *range(rank)))
    assert first.stride(1) == 1  # `in` innermost, as the channels-last inputs


def test_in_place_write_invalidates():
    kernel = torch.randn(3, 3, 2, 4)
    with torch.no_grad():
        before = kernel_to_torch(kernel, 2).clone()
        kernel.mul_(2)
        assert torch.equal(kernel_to_torch(kernel, 2), before * 2)
        kernel.data = torch.randn(3, 3, 2, 4)  # swaps storage; the version may not move
        assert torch.equal(kernel_to_torch(kernel, 2), kernel.permute(3, 2, 0, 1))


def test_optimizer_step_invalidates(data):
    model = conv_model()
    model.compile(optimizer="sgd", loss="mse")
    before = model.predict(data, verbose=0)
    model.fit(data, np.ones_like(before), epochs=1, batch_size=4, verbose=0)
    after = model.predict(data, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, reference(model, data), atol=1e-6)


def test_set_weights_and_load_weights_invalidate(data, tmp_path):
    model, other = conv_model(), conv_model()
    model.predict(data, verbose=0)  # fill the caches
    other.save_weights(str(tmp_path / "w.weights.h5"))
    model.set_weights(other.get_weights())
    np.testing.assert_allclose(model.predict(data, verbose=0), other.predict(data, verbose=0),
                               atol=1e-6)
    model.set_weights([w * 0.5 for w in other.get_weights()])
    model.predict(data, verbose=0)
    model.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_allclose(model.predict(data, verbose=0), other.predict(data, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("cls,shape", [(Conv1D, (5, 2)), (Conv2D, (5, 5, 2)),
                                       (Conv3D, (4, 4, 4, 2)), (SeparableConv2D, (5, 5, 2))])
def test_training_gradients_reach_the_kernel(cls, shape):
    layer = cls(3, 2)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        layer(x)  # a cached copy exists; training must not use it
    layer(x).square().sum().backward()
    kernels = [p for name, p in layer.named_parameters() if "kernel" in name]
    assert kernels and all(k.grad is not None and k.grad.abs().sum() > 0 for k in kernels)


def test_frozen_kernel_still_passes_gradients_to_the_input():
    layer = Conv2D(3, 2)
    layer.trainable = False
    x = torch.randn(2, 5, 5, 2, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("shape,axis", [((2, 4, 5, 6), -1), ((2, 4, 5, 6), 1),
                                        ((2, 3, 4, 5, 6), -1), ((3, 6), -1), ((2, 5, 6), -1)])
def test_batch_norm_inference_matches_elementwise(shape, axis):
    bn = BatchNormalization(axis=axis)
    bn(torch.zeros(shape))
    for w in bn.weights:
        w.value.data.uniform_(0.5, 2.0)
    x = torch.randn(shape)
    fused = bn(x)
    inv = torch.rsqrt(bn._broadcast(bn.moving_variance) + bn.epsilon)
    manual = (x - bn._broadcast(bn.moving_mean)) * inv * bn._broadcast(bn.gamma) + \
        bn._broadcast(bn.beta)
    torch.testing.assert_close(fused, manual, atol=1e-6, rtol=1e-6)
    assert fused.is_contiguous() or len(shape) == 3


def test_batch_norm_channels_last_does_not_copy():
    bn = BatchNormalization()
    x = torch.randn(2, 4, 5, 6)
    bn(x)
    view = x.movedim(-1, 1)
    assert view.is_contiguous(memory_format=torch.channels_last)
    assert bn(x).is_contiguous()  # batch_norm kept channels_last: moving back is free
