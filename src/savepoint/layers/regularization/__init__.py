"""Regularization layers (Keras's ``layers/regularization`` family): Dropout,
SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization.
Every noise layer is the identity at inference.

Example:
    >>> import torch
    >>> GaussianNoise(0.5)(torch.ones(1, 2)).tolist()   # inference: identity
    [[1.0, 1.0]]
"""

from savepoint.layers.regularization.activity_regularization import ActivityRegularization
from savepoint.layers.regularization.alpha_dropout import AlphaDropout
from savepoint.layers.regularization.dropout import Dropout
from savepoint.layers.regularization.gaussian import GaussianDropout, GaussianNoise
from savepoint.layers.regularization.spatial_dropout import (SpatialDropout1D, SpatialDropout2D,
                                                             SpatialDropout3D)

__all__ = ["ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout",
           "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
