"""Layers with Keras names and semantics (channels-last, Keras weight names and shapes)."""

from savepoint.layers import activations, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.layers import convolutional, pooling, reshaping
from savepoint.layers.convolutional import *  # noqa: F401,F403  (Conv1D ... SeparableConv2D)
from savepoint.layers.core import Activation, Dense, Embedding, Input, InputLayer, Lambda
from savepoint.layers.regularization import Dropout
from savepoint.layers.reshaping import Flatten, Reshape
from savepoint.layers.merging import Add, Concatenate
# activation, merging, attention, reshaping, regularization, group/unit normalization (issue 8.3/8.4)
from savepoint.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from savepoint.layers.merging import (Average, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                     average, concatenate, dot, maximum, minimum, multiply,
                                     subtract)
from savepoint.layers.attention import (AdditiveAttention, Attention, EinsumDense,
                                        MultiHeadAttention)
from savepoint.layers.regularization import (ActivityRegularization, AlphaDropout,
                                             GaussianDropout, GaussianNoise, SpatialDropout1D,
                                             SpatialDropout2D, SpatialDropout3D)
from savepoint.layers.reshaping.permute import Permute
from savepoint.layers.reshaping.repeat_vector import RepeatVector
from savepoint.layers.normalization import (BatchNormalization, GroupNormalization,
                                            LayerNormalization, UnitNormalization)
from savepoint.layers.pooling import *  # noqa: F401,F403  (Max/Average/Global pooling)
from savepoint.layers.reshaping import *  # noqa: F401,F403  (ZeroPadding, Cropping, UpSampling)
from savepoint.layers import recurrent
from savepoint.layers.recurrent import *  # noqa: F401,F403  (LSTM, GRU, Bidirectional ... issue 8.2)
from savepoint.layers import preprocessing
from savepoint.layers.preprocessing import *  # noqa: F401,F403  (Rescaling ... issue 8.5)
from savepoint.layers.symbolic import KerasTensor
from savepoint.layers.tf_op import SlicingOpLambda, TFOpLambda
from savepoint.layers.variable import Variable

__all__ = ["Activation", "Add", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D",
           "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "Input", "InputLayer", "KerasTensor", "Lambda", "Layer",
           "LayerNormalization", "MaxPooling2D", "Reshape", "Variable", "activations",
           "initializers", "regularizers"]
__all__ += convolutional.__all__ + pooling.__all__ + reshaping.__all__
__all__ += ["Average", "Dot", "ELU", "LeakyReLU", "Maximum", "Minimum", "Multiply", "PReLU",
            "ReLU", "Softmax", "Subtract", "ThresholdedReLU", "add", "average", "concatenate",
            "dot", "maximum", "minimum", "multiply", "subtract", "ActivityRegularization",
            "AdditiveAttention", "AlphaDropout", "Attention", "EinsumDense", "GaussianDropout",
            "GaussianNoise", "GroupNormalization", "MultiHeadAttention", "Permute",
            "RepeatVector", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
            "UnitNormalization"]
__all__ += recurrent.__all__
__all__ += preprocessing.__all__
__all__ += ["SlicingOpLambda", "TFOpLambda"]  # issue 8.6
__all__ = list(dict.fromkeys(__all__))  # reshaping's list repeats Flatten and Reshape
