"""layers/ is organised by family as Keras organises it, and the move kept every public path,
registered name and config (issue 8: "Organise layers/ by family as Keras does")."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import torch

import savepoint
from savepoint import layers
from savepoint.layers.base import Layer
from savepoint.serialization import builtin_objects, deserialize, serialize

LAYERS_DIR = Path(layers.__file__).parent
# Keras's own top-level modules (keras.activations ...) and the Layer machinery: not families.
NOT_FAMILIES = {"__init__", "activations", "constraints", "initializers", "regularizers",
                "base", "layer_helpers", "layer_losses", "layer_symbolic", "symbolic",
                "torch_modules", "variable", "weight_args"}
FAMILIES = {"activation", "attention", "convolutional", "core", "merging", "normalization",
            "pooling", "preprocessing", "recurrent", "regularization", "reshaping", "tf_op"}

# Where tf.keras 2.21 (tf_keras.src.layers.<family>.<module>) defines each moved class; checked
# in .venvs/tf with ``keras.layers.Dense.__module__`` ...; InputLayer follows Keras 3.
KERAS_HOMES = {"Dense": "core.dense", "EinsumDense": "core.einsum_dense",
               "Activation": "core.activation", "Embedding": "core.embedding",
               "Lambda": "core.lambda_layer", "InputLayer": "core.input_layer",
               "Dropout": "regularization.dropout", "Flatten": "reshaping.flatten",
               "Reshape": "reshaping.reshape",
               "BatchNormalization": "normalization.batch_normalization",
               "LayerNormalization": "normalization.layer_normalization",
               "GroupNormalization": "normalization.group_normalization",
               "UnitNormalization": "normalization.unit_normalization"}


def test_layers_folder_has_no_loose_family_modules():
    loose = sorted(p.stem for p in LAYERS_DIR.glob("*.py") if p.stem not in NOT_FAMILIES)
    folders = {p.name for p in LAYERS_DIR.iterdir()
               if p.is_dir() and (p / "__init__.py").exists()}
    assert loose == []
    assert folders == FAMILIES


def test_every_public_layer_lives_in_a_family_package():
    homes = {}
    for name in layers.__all__:
        obj = getattr(layers, name)
        if inspect.isclass(obj) and issubclass(obj, Layer) and obj is not Layer:
            homes[name] = obj.__module__.split(".")
    misplaced = {n: ".".join(m) for n, m in homes.items()
                 if len(m) < 4 or m[:2] != ["savepoint", "layers"] or m[2] not in FAMILIES}
    assert misplaced == {}


@pytest.mark.parametrize("name,home", sorted(KERAS_HOMES.items()))
def test_moved_class_sits_where_keras_puts_it(name, home):
    assert getattr(layers, name).__module__ == f"savepoint.layers.{home}"


@pytest.mark.parametrize("path,name", [
    ("savepoint.layers.core", "Dense"), ("savepoint.layers.core", "Dropout"),
    ("savepoint.layers.core", "Flatten"), ("savepoint.layers.core", "Reshape"),
    ("savepoint.layers.core", "InputLayer"), ("savepoint.layers.core", "Input"),
    ("savepoint.layers.core", "Activation"), ("savepoint.layers.core", "Embedding"),
    ("savepoint.layers.core", "Lambda"), ("savepoint.layers.core", "EinsumDense"),
    ("savepoint.layers.attention", "EinsumDense"),
    ("savepoint.layers.normalization", "BatchNormalization"),
    ("savepoint.layers.normalization", "LayerNormalization"),
    ("savepoint.layers.normalization", "GroupNormalization"),
    ("savepoint.layers.normalization", "UnitNormalization"),
    ("savepoint.layers.regularization", "Dropout"), ("savepoint.layers.reshaping", "Flatten"),
    ("savepoint.layers.reshaping", "Reshape")])
def test_public_import_paths_keep_working(path, name):
    assert getattr(importlib.import_module(path), name) is getattr(layers, name)
    assert getattr(savepoint.layers, name) is getattr(layers, name)


def test_registered_names_did_not_change():
    table = builtin_objects("layers")
    expected = {"Dense": layers.Dense, "Dropout": layers.Dropout, "Flatten": layers.Flatten,
                "Reshape": layers.Reshape, "Activation": layers.Activation,
                "InputLayer": layers.InputLayer, "Embedding": layers.Embedding,
                "embedding": layers.Embedding, "Lambda": layers.Lambda,
                "lambda": layers.Lambda, "EinsumDense": layers.EinsumDense,
                "BatchNormalization": layers.BatchNormalization,
                "batch_normalization": layers.BatchNormalization,
                "BatchNormalizationV2": layers.BatchNormalization,
                "LayerNormalization": layers.LayerNormalization,
                "layer_normalization": layers.LayerNormalization,
                "GroupNormalization": layers.GroupNormalization,
                "UnitNormalization": layers.UnitNormalization}
    assert {k: table.get(k) for k in expected} == expected


# Config key order of tf.keras 2.21 (``list(keras.layers.Dense(2).get_config())`` ...).
TF_KEY_ORDER = {
    "Dense": ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint"],
    "Embedding": ["input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
                  "activity_regularizer", "embeddings_constraint", "mask_zero", "input_length"],
    "LayerNormalization": ["axis", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                           "beta_constraint", "gamma_constraint"],
    "GroupNormalization": ["groups", "axis", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                           "beta_constraint", "gamma_constraint"]}


@pytest.mark.parametrize("layer", [layers.Dense(2), layers.Embedding(3, 2),
                                   layers.LayerNormalization(), layers.GroupNormalization(2)],
                         ids=lambda l: type(l).__name__)
def test_shared_weight_arguments_keep_tf_keras_config_order(layer):
    keys = [k for k in layer.get_config() if k not in ("name", "trainable", "dtype",
                                                       "batch_input_shape")]
    assert keys == TF_KEY_ORDER[type(layer).__name__]


def test_weight_arguments_reach_the_weights_after_the_move():
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="ones",
                         kernel_regularizer="l2", bias_constraint="non_neg")
    dense(torch.ones(1, 3))
    assert dense.kernel.tolist() == [[1.0, 1.0]] * 3 and dense.bias.tolist() == [1.0, 1.0]
    assert dense.kernel_regularizer is not None and dense.bias_constraint is not None
    clone = deserialize(serialize(dense))
    assert clone.get_config() == dense.get_config()
    mha = layers.MultiHeadAttention(2, 3, kernel_initializer="ones", use_bias=False)
    mha(torch.ones(1, 4, 6), torch.ones(1, 4, 6))
    assert mha.query_dense.kernel.sum().item() == 36.0
    assert type(mha.query_dense.kernel_initializer).__name__ == "Ones"
    norm = layers.BatchNormalization(gamma_initializer="zeros", beta_regularizer="l1")
    norm.build((None, 4))
    assert norm.gamma.tolist() == [0.0] * 4 and norm.beta_regularizer is not None


@pytest.mark.parametrize("module,name,config", [
    ("savepoint.layers.core", "Dense", {"units": 2}),
    ("savepoint.layers.core", "Dropout", {"rate": 0.5}),
    ("savepoint.layers.embedding", "Embedding", {"input_dim": 3, "output_dim": 2}),
    ("savepoint.layers.normalization", "BatchNormalization", {}),
    ("savepoint.layers.group_normalization", "GroupNormalization", {"groups": 2}),
    ("savepoint.layers.attention.einsum_dense", "EinsumDense",
     {"equation": "ab,bc->ac", "output_shape": 3})])
def test_configs_written_before_the_move_still_load(module, name, config):
    """Configs name the old modules in files saved before the move; classes resolve by their
    registered name, so those files load unchanged."""
    layer = deserialize({"module": module, "class_name": name, "config": config,
                         "registered_name": name})
    assert type(layer) is getattr(layers, name)
