"""Lowerings of the spatial and normalization layers: convolutions, pooling, batch and layer
normalization, embeddings (channels-last only, as TensorFlow's CPU kernels)."""

from __future__ import annotations
