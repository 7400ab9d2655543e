"""Attention layers (Keras's ``layers/attention`` family): MultiHeadAttention (on
``scaled_dot_product_attention``), Attention, AdditiveAttention; EinsumDense, their projection,
lives in ``layers/core`` as in Keras and is re-exported here.

Example:
    >>> import torch
    >>> MultiHeadAttention(2, 4)(torch.ones(1, 3, 8), torch.ones(1, 5, 8)).shape
    torch.Size([1, 3, 8])
"""

from savepoint.layers.attention.additive_attention import AdditiveAttention
from savepoint.layers.attention.attention import Attention
from savepoint.layers.core.einsum_dense import EinsumDense
from savepoint.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "EinsumDense", "MultiHeadAttention"]
