"""Layers with Keras names and semantics (channels-last, Keras weight names and shapes)."""

from savepoint.layers import activations, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from savepoint.layers.symbolic import KerasTensor
from savepoint.layers.variable import Variable

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "KerasTensor",
           "Layer", "Reshape", "Variable", "activations", "initializers", "regularizers"]
