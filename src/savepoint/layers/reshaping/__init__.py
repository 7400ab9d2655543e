"""Reshaping layers: Flatten, Reshape, and zero padding, cropping and upsampling in 1, 2 and 3
dimensions."""

from savepoint.layers.reshaping.cropping import Cropping1D, Cropping2D, Cropping3D
from savepoint.layers.reshaping.flatten import Flatten
from savepoint.layers.reshaping.reshape import Reshape
from savepoint.layers.reshaping.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D
from savepoint.layers.reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D

__all__ = ["Cropping1D", "Cropping2D", "Cropping3D", "Flatten", "Reshape", "UpSampling1D",
           "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]
