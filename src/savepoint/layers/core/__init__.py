"""Core layers (Keras's ``layers/core`` family): Input/InputLayer, Dense, EinsumDense,
Activation, Embedding and Lambda, one module each.

Dropout, Flatten and Reshape live in ``regularization`` and ``reshaping``, where Keras puts them;
they are re-exported here because tf.keras's ``layers.core`` keeps them importable too.

Example:
    >>> import torch
    >>> Dense(2, activation="relu")(torch.ones(1, 3)).shape
    torch.Size([1, 2])
"""

from savepoint.layers.core.activation import Activation
from savepoint.layers.core.dense import Dense
from savepoint.layers.core.einsum_dense import EinsumDense
from savepoint.layers.core.embedding import Embedding
from savepoint.layers.core.input_layer import Input, InputLayer
from savepoint.layers.core.lambda_layer import Lambda
# Imported for tf.keras's namespace compatibility (``layers.core.Dropout`` ...).
from savepoint.layers.regularization.dropout import Dropout
from savepoint.layers.reshaping.flatten import Flatten
from savepoint.layers.reshaping.reshape import Reshape

__all__ = ["Activation", "Dense", "Dropout", "EinsumDense", "Embedding", "Flatten", "Input",
           "InputLayer", "Lambda", "Reshape"]
