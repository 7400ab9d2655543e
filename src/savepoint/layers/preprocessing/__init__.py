"""Preprocessing layers that live inside saved models (images, numbers, categories, text).

Augmentations (``Random*``) transform only in training (``training=True``, as ``fit`` calls
them) and are the identity at inference (``RandomCrop`` center-crops and resizes, as tf.keras).
With ``seed=`` a layer draws from its own CPU generator, so two fresh layers (or models) with the
same seed make the same augmentations, call after call, on any device, as in tf.keras; the
numbers differ from TensorFlow's (its Philox streams are not reproduced). Without a seed the
draws come from torch's global generators, which ``savepoint.utils.set_random_seed`` seeds.
``BackupAndRestore`` captures both, so an exactly resumed ``fit`` repeats the augmentations bit
for bit. ``seed`` is saved in the layer's config.
"""

from savepoint.layers.preprocessing.category_encoding import CategoryEncoding
from savepoint.layers.preprocessing.center_crop import CenterCrop
from savepoint.layers.preprocessing.discretization import Discretization
from savepoint.layers.preprocessing.index_lookup import IntegerLookup, StringLookup
from savepoint.layers.preprocessing.normalization import Normalization
from savepoint.layers.preprocessing.random_affine import (RandomRotation, RandomTranslation,
                                                          RandomZoom)
from savepoint.layers.preprocessing.random_image import RandomContrast, RandomCrop, RandomFlip
from savepoint.layers.preprocessing.rescaling import Rescaling
from savepoint.layers.preprocessing.resizing import Resizing
from savepoint.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["CategoryEncoding", "CenterCrop", "Discretization", "IntegerLookup", "Normalization",
           "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation",
           "RandomZoom", "Rescaling", "Resizing", "StringLookup", "TextVectorization"]
