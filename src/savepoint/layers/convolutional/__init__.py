"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions."""

from savepoint.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from savepoint.layers.convolutional.conv_transpose import (Conv1DTranspose, Conv2DTranspose,
                                                           Conv3DTranspose)
from savepoint.layers.convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from savepoint.layers.convolutional.separable_conv import SeparableConv1D, SeparableConv2D

# Keras 2 spellings of the same classes
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
Deconvolution2D, Deconvolution3D = Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
           "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose",
           "Convolution2DTranspose", "Convolution3DTranspose", "Deconvolution2D",
           "Deconvolution3D", "SeparableConvolution1D", "SeparableConvolution2D"]
