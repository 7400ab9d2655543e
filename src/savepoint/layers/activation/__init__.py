"""Activation layers (Keras's ``layers/activation`` family): ReLU, LeakyReLU, PReLU, ELU, Softmax
and ThresholdedReLU.

Example:
    >>> import torch
    >>> ReLU(max_value=1.0)(torch.tensor([[-1.0, 0.5, 3.0]])).tolist()
    [[0.0, 0.5, 1.0]]
"""

from savepoint.layers.activation.elu import ELU
from savepoint.layers.activation.leaky_relu import LeakyReLU
from savepoint.layers.activation.prelu import PReLU
from savepoint.layers.activation.relu import ReLU
from savepoint.layers.activation.softmax import Softmax
from savepoint.layers.activation.thresholded_relu import ThresholdedReLU

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]
