"""The 1x1 fast path of channels-last convolutions (``conv.pointwise_conv``): it must give the
general convolution's outputs and gradients for every rank, stride and padding it takes, and
leave every other configuration to the general path."""

import numpy as np
import pytest
import torch

from savepoint.layers import Conv1D, Conv2D, Conv3D
from savepoint.layers.convolutional.base_conv import BaseConv

CASES = [(Conv1D, (2, 9, 3), "valid"), (Conv1D, (2, 9, 3), "same"),
         (Conv1D, (2, 9, 3), "causal"), (Conv2D, (2, 7, 6, 3), "valid"),
         (Conv2D, (2, 7, 6, 3), "same"), (Conv3D, (2, 5, 4, 3, 3), "same")]


def general_path(layer, x):
    """The convolution without the fast path: ``BaseConv.call`` runs torch's conv kernel."""
    return BaseConv.call(layer, x)


@pytest.mark.parametrize("cls,shape,padding,strides",
                         [case + (s,) for case in CASES for s in (1, 2, 3)])
def test_pointwise_matches_general_conv(cls, shape, padding, strides, rng):
    layer = cls(4, 1, strides=strides, padding=padding, activation="relu")
    x = torch.from_numpy(rng.normal(size=shape).astype("float32")).requires_grad_()
    layer.build(tuple(shape))
    assert layer._is_pointwise()
    fast = layer(x)
    slow = general_path(layer, x)
    assert fast.shape == slow.shape == layer.compute_output_shape(tuple(shape))
    np.testing.assert_allclose(fast.detach().numpy(), slow.detach().numpy(), atol=1e-5)
    upstream = torch.from_numpy(rng.normal(size=tuple(fast.shape)).astype("float32"))
    fast_grads = torch.autograd.grad(fast, [x, layer.kernel, layer.bias], upstream)
    slow_grads = torch.autograd.grad(slow, [x, layer.kernel, layer.bias], upstream)
    for got, want in zip(fast_grads, slow_grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


@pytest.mark.parametrize("layer", [Conv2D(4, 3), Conv2D(4, 1, data_format="channels_first"),
                                   Conv2D(4, 1, groups=2), Conv2D(4, (1, 2))])
def test_other_convolutions_keep_the_general_path(layer):
    layer.build((2, 4, 6, 6) if layer.data_format == "channels_first" else (2, 6, 6, 4))
    assert not layer._is_pointwise()


def test_pointwise_without_bias_and_under_no_grad(rng):
    layer = Conv2D(3, 1, strides=2, use_bias=False)
    x = torch.from_numpy(rng.normal(size=(1, 5, 5, 2)).astype("float32"))
    with torch.no_grad():
        fast = layer(x)
        slow = general_path(layer, x)
    assert fast.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), atol=1e-5)


@pytest.mark.parametrize("shape,nchw", [((2, 2, 2, 256), True), ((2, 4, 4, 256), True),
                                        ((2, 5, 4, 256), False), ((2, 2, 2, 128), False)])
def test_tiny_deep_images_run_nchw_with_the_same_results(shape, nchw, rng):
    layer = Conv2D(8, 3, padding="same")
    x = torch.from_numpy(rng.normal(size=shape).astype("float32"))
    layer.build(shape)
    from savepoint.layers.convolutional.base_conv import runs_faster_nchw
    assert runs_faster_nchw(x.permute(0, 3, 1, 2), 1) is nchw
    with torch.no_grad():
        got = layer(x)
    assert got.is_contiguous()  # the next channels-last layer gets what it always gets
    kernel = layer.kernel.detach().permute(3, 2, 0, 1).contiguous()
    want = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), kernel, layer.bias.detach(),
                                      padding=1).permute(0, 2, 3, 1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)
    x.requires_grad_()
    (layer(x) * 2).sum().backward()
    plain = x.detach().permute(0, 3, 1, 2).contiguous().requires_grad_()
    (torch.nn.functional.conv2d(plain, kernel, layer.bias.detach(), padding=1) * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), plain.grad.permute(0, 2, 3, 1).numpy(), atol=1e-4)
