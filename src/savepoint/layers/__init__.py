"""Layers with Keras names and semantics (channels-last, Keras weight names and shapes)."""

from savepoint.layers import activations, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.layers.conv import Conv2D
from savepoint.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from savepoint.layers.embedding import Embedding
from savepoint.layers.lambda_layer import Lambda
from savepoint.layers.merging import Add, Concatenate
from savepoint.layers.normalization import BatchNormalization, LayerNormalization
from savepoint.layers.pooling import (AveragePooling2D, GlobalAveragePooling1D,
                                      GlobalAveragePooling2D, MaxPooling2D)
from savepoint.layers.symbolic import KerasTensor
from savepoint.layers.variable import Variable

__all__ = ["Activation", "Add", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D",
           "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "Input", "InputLayer", "KerasTensor", "Lambda", "Layer",
           "LayerNormalization", "MaxPooling2D", "Reshape", "Variable", "activations",
           "initializers", "regularizers"]
