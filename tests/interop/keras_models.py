"""The model architectures of the TensorFlow interop fixtures, written once for both libraries.

Every builder takes the Keras module (``tf_keras`` in the TensorFlow venv, ``savepoint`` here)
and returns a compiled model, so TensorFlow and savepoint build exactly the same graph of layers
(same order, same ``layer_with_weights-N`` numbering, same optimizer). Used by
``tools/make_tf_fixtures.py``, ``tests/saving/test_tf_golden_models.py`` and the live checks in
``tests/interop/``. Only numpy and the module passed in are imported.

Example:
    >>> import savepoint
    >>> model = tutorial(savepoint, units=4)
    >>> [w.shape for w in model.get_weights()]
    [(784, 4), (4,), (4, 10), (10,)]
"""

from __future__ import annotations

from typing import Any

import numpy as np


def tutorial(keras: Any, units: int = 512) -> Any:
    """The "Save and load models" tutorial's ``create_model()`` (784 -> units relu -> 10)."""
    model = keras.models.Sequential([
        keras.layers.Dense(units, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def functional(keras: Any) -> Any:
    """Two inputs: image -> Conv2D/BatchNormalization/MaxPooling2D/Flatten and token ids ->
    Embedding/LayerNormalization/GlobalAveragePooling1D, concatenated into a Dense head."""
    image = keras.Input(shape=(7, 7, 2))
    tokens = keras.Input(shape=(5,), dtype="int32")
    x = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")(image)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D(pool_size=2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    e = keras.layers.Embedding(11, 4)(tokens)
    e = keras.layers.LayerNormalization()(e)
    e = keras.layers.GlobalAveragePooling1D()(e)
    out = keras.layers.Dense(3)(keras.layers.Concatenate()([x, e]))
    model = keras.Model([image, tokens], out)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def conv_sequential(keras: Any) -> Any:
    """Conv2D (valid) -> AveragePooling2D (same, odd size) -> Conv2D (same, stride 2) ->
    GlobalAveragePooling2D -> Dense."""
    model = keras.models.Sequential([
        keras.layers.Conv2D(4, (3, 2), activation="relu", input_shape=(9, 8, 3)),
        keras.layers.AveragePooling2D(pool_size=2, padding="same"),
        keras.layers.Conv2D(5, 3, strides=2, padding="same"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model


def data(name: str, count: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Inputs (a list, one array per model input) and targets for the model ``name``."""
    rng = np.random.default_rng(seed)
    if name == "tutorial":
        return [rng.random((count, 784), dtype=np.float32)], rng.integers(0, 10, count)
    if name == "functional":
        return ([rng.standard_normal((count, 7, 7, 2)).astype(np.float32),
                 rng.integers(0, 11, (count, 5)).astype(np.int32)], rng.integers(0, 3, count))
    if name == "conv_sequential":
        return ([rng.standard_normal((count, 9, 8, 3)).astype(np.float32)],
                rng.standard_normal((count, 2)).astype(np.float32))
    raise ValueError(f"Expected a model name among tutorial, functional, conv_sequential. "
                     f"Received {name!r}.")


BUILDERS = {"tutorial": tutorial, "functional": functional, "conv_sequential": conv_sequential}


def h5_fixture(keras: Any, name: str) -> Any:
    """The HDF5 fixtures' architectures (``seq``, ``conv``, ``emb``; tools/make_h5_fixtures.py)."""
    k = keras
    if name == "seq":
        return k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"),
                             k.layers.BatchNormalization(), k.layers.Dense(3)])
    if name == "conv":
        x = k.Input((6, 6, 2))
        y = k.layers.Conv2D(3, 3, activation="relu")(x)
        y = k.layers.Dense(2)(k.layers.Flatten()(k.layers.MaxPooling2D()(y)))
        return k.Model(x, y)
    x = k.Input((5,), dtype="int32")
    y = k.layers.LayerNormalization()(k.layers.Embedding(10, 4)(x))
    return k.Model(x, k.layers.Dense(2)(k.layers.GlobalAveragePooling1D()(y)))
