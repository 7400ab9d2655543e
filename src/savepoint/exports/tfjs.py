"""``model.export(path, format="tfjs")``: a TensorFlow.js Layers model (``tf.loadLayersModel``).

What the ``tensorflowjs`` converter writes for a tf.keras model, without it: a directory with
``model.json`` -- ``format: "layers-model"``, ``generatedBy``, ``convertedBy``,
``modelTopology`` (``{"keras_version", "backend", "model_config"}`` with the model's Keras 2
JSON, as in the converter's HDF5 path) and ``weightsManifest`` (one group: the shard file names
and every weight's name, shape and dtype) -- and the binary shards ``group1-shard<i>of<n>.bin``
of at most ``shard_size_bytes`` each: the weights' little-endian bytes back to back (float32;
int32 for integer weights). Weights are named as in a Keras 2 ``.h5`` file (``dense/kernel``),
which is how tfjs-layers matches them with its variables.

tfjs-layers implements only part of Keras: a layer class it does not register, an activation it
does not know, or an option it refuses (``GRU(reset_after=True)``) is a ``ConfigError`` naming
the layer, at export time rather than in the browser.

Example:
    >>> import savepoint as keras, tempfile, os, json
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = os.path.join(tempfile.mkdtemp(), "web"); export(m, d)
    >>> sorted(os.listdir(d))
    ['group1-shard1of1.bin', 'model.json']
    >>> manifest = json.load(open(os.path.join(d, "model.json")))["weightsManifest"]
    >>> [(w["name"], w["shape"]) for w in manifest[0]["weights"]]
    [('dense/kernel', [3, 2]), ('dense/bias', [2])]
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from savepoint.errors import ConfigError

SHARD_SIZE = 4 * 1024 * 1024  # the converter's default

# Layer classes tfjs-layers 4.x registers (serialization.registerClass), models included.
TFJS_LAYERS = frozenset("""
    Activation Add AlphaDropout Average AveragePooling1D AveragePooling2D AveragePooling3D
    BatchNormalization Bidirectional CategoryEncoding CenterCrop Concatenate Conv1D Conv2D
    Conv2DTranspose Conv3D Conv3DTranspose ConvLSTM2D Cropping2D Dense DepthwiseConv2D Dot
    Dropout ELU Embedding Flatten Functional GRU GaussianDropout GaussianNoise
    GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D InputLayer
    LSTM LayerNormalization LeakyReLU Masking MaxPooling1D MaxPooling2D MaxPooling3D Maximum
    Minimum Model Multiply PReLU Permute ReLU RepeatVector Rescaling Reshape Resizing
    SeparableConv2D Sequential SimpleRNN Softmax SpatialDropout1D ThresholdedReLU TimeDistributed
    UpSampling2D ZeroPadding2D""".split())
# Keras activation names tfjs-layers knows (it camel-cases them: hard_sigmoid -> hardSigmoid).
TFJS_ACTIVATIONS = frozenset("""elu selu relu relu6 linear sigmoid hard_sigmoid softplus
    softsign tanh softmax log_softmax gelu mish swish""".split())
_MODELS = {"Functional", "Model", "Sequential"}
_TFJS_DTYPES = {"float32", "int32", "bool"}
# option -> value tfjs-layers refuses, per class (its constructors throw on them)
_REFUSED_OPTIONS = {"GRU": {"reset_after": True}}


def export(model: Any, filepath: str, input_signature: Any = None, *,
           shard_size_bytes: int = SHARD_SIZE) -> None:
    """Write ``model`` as a TF.js Layers model to the directory ``filepath``."""
    from savepoint.exports.signature import resolve
    from savepoint.saving import storage
    if type(shard_size_bytes) is not int or shard_size_bytes <= 0:
        raise ConfigError(f"model.export(format='tfjs'): expected shard_size_bytes to be a "
                          f"positive int. Received {shard_size_bytes!r}. Fix: leave it out "
                          f"(4 MiB, the converter's default) or pass e.g. 1048576.")
    specs, _ = resolve(model, input_signature, "tfjs")
    if any(s["shape"][1:] != list(t) for s, t in zip(specs, _model_shapes(model))) or \
            any(s["shape"][0] is not None for s in specs):
        raise ConfigError("model.export(format='tfjs'): expected input_signature to keep the "
                          "model's input shapes with a dynamic batch (a TF.js Layers model "
                          f"takes its shapes from its topology). Received "
                          f"{[tuple(s['shape']) for s in specs]}. Fix: pass "
                          "input_signature=None.")
    topology = topology_of(model)
    weights = weight_entries(model)
    files, manifest = shards(weights, shard_size_bytes)
    from savepoint import __version__
    document = {"format": "layers-model", "generatedBy": f"keras v{topology['keras_version']}",
                "convertedBy": f"savepoint v{__version__}", "modelTopology": topology,
                "weightsManifest": manifest}
    temp = storage.temp_dir_for(filepath)
    try:
        for name, data in files.items():
            storage.write_bytes_atomically(os.path.join(temp, name), data)
        storage.replace_text_atomically(os.path.join(temp, "model.json"), json.dumps(document))
        storage.commit_directory(temp, filepath)
    except BaseException:
        storage.remove_tree(temp)
        raise


def _model_shapes(model: Any) -> list[list]:
    from savepoint.exports.inference import input_signature
    return [spec["shape"][1:] for spec in input_signature(model)[0]]


def topology_of(model: Any) -> dict:
    """``modelTopology`` as the converter writes it from a Keras 2 ``.h5``: the model's Keras 2
    JSON under ``model_config`` with ``keras_version`` and ``backend``; ``ConfigError`` for the
    first layer tfjs-layers cannot run.

    Example:
        >>> import savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(2, activation="leaky_relu",
        ...                                          input_shape=(3,), name="dense")])
        >>> topology_of(m)
        Traceback (most recent call last):
        ...
        savepoint.errors.ConfigError: model.export(format='tfjs'): expected layers and \
activations TensorFlow.js Layers implements. Received layer 'dense' (Dense) with \
activation='leaky_relu', which tfjs-layers does not know (it knows ['elu', 'gelu', \
'hard_sigmoid', 'linear', 'log_softmax', 'mish', 'relu', 'relu6', 'selu', 'sigmoid', 'softmax', \
'softplus', 'softsign', 'swish', 'tanh']). Fix: use one of those, or an activation layer \
tfjs-layers has (LeakyReLU, ReLU, ELU, Softmax), or export with format='onnx', \
'tf_saved_model' or 'torch'.
    """
    from savepoint.saving.handlers.h5_weights import KERAS2_BACKEND, KERAS2_VERSION
    config = json.loads(model.to_json())
    if config.get("class_name") not in _MODELS:
        _refuse(f"model '{model.name}' of subclassed class {config.get('class_name')}, whose "
                f"call() is Python code TF.js cannot rebuild from a topology",
                "build it as a Sequential or functional model")
    _check_layer(config, model.name)
    _keepdims_to_reshape(config, model)
    return {"keras_version": KERAS2_VERSION, "backend": KERAS2_BACKEND, "model_config": config}


def _check_layer(layer: dict, name: str) -> None:
    cls = layer.get("class_name")
    config = layer.get("config") or {}
    name = config.get("name", name) if isinstance(config, dict) else name
    if cls not in TFJS_LAYERS:
        _refuse(f"layer '{name}' of class {cls}, which tfjs-layers does not implement",
                "replace it with layers tfjs-layers has")
    for option, bad in _REFUSED_OPTIONS.get(cls, {}).items():
        if config.get(option) == bad:
            _refuse(f"layer '{name}' ({cls}) with {option}={bad}, which tfjs-layers refuses",
                    f"build it with {option}={not bad}")
    dtype = config.get("dtype")
    if dtype is not None and dtype not in _TFJS_DTYPES:
        shown = dtype.get("config", {}).get("name", dtype) if isinstance(dtype, dict) else dtype
        _refuse(f"layer '{name}' ({cls}) with dtype {shown!r} (tfjs-layers computes in "
                f"{sorted(_TFJS_DTYPES)})", "build the model in float32")
    for key in ("activation", "recurrent_activation"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("config", {}).get("name", value.get("class_name"))
        if value is not None and value not in TFJS_ACTIVATIONS:
            _refuse(f"layer '{name}' ({cls}) with {key}={value!r}, which tfjs-layers does not "
                    f"know (it knows {sorted(TFJS_ACTIVATIONS)})",
                    "use one of those, or an activation layer tfjs-layers has (LeakyReLU, "
                    "ReLU, ELU, Softmax)")
    for child in config.get("layers", []) if cls in _MODELS else []:
        _check_layer(child, name)
    for key in ("layer", "cell", "forward_layer", "backward_layer"):
        if isinstance(config.get(key), dict):
            _check_layer(config[key], name)


def _keepdims_to_reshape(model_config: dict, model: Any) -> None:
    """tfjs-layers' global pooling has no ``keepdims`` (MobileNet uses it): pool, then a
    ``Reshape`` to the layer's output shape, named ``<layer>_keepdims``, in the layer's place."""
    config = model_config["config"]
    functional = model_config["class_name"] != "Sequential"
    layers, renamed = [], {}
    taken = {layer["config"]["name"] for layer in config["layers"]}
    for layer in config["layers"]:
        layers.append(layer)
        cls, inner = layer["class_name"], layer["config"]
        if cls in _MODELS:
            _keepdims_to_reshape(layer, model.get_layer(inner["name"]))
        if not (cls.startswith("Global") and inner.get("keepdims")):
            continue
        inner["keepdims"] = False
        name = f"{inner['name']}_keepdims"
        while name in taken:
            name += "_"
        taken.add(name)
        reshape = {"class_name": "Reshape", "config": {
            "name": name, "trainable": inner.get("trainable", True),
            "dtype": inner.get("dtype", "float32"),
            "target_shape": list(model.get_layer(inner["name"]).output.shape[1:])}}
        if functional:
            reshape["name"] = name
            reshape["inbound_nodes"] = [[[inner["name"], i, 0, {}]]
                                        for i in range(len(layer["inbound_nodes"]))]
            renamed[inner["name"]] = name
        layers.append(reshape)
    config["layers"] = layers
    if renamed:
        for layer in layers:
            if layer["config"]["name"] not in renamed.values():
                _rename_refs(layer.get("inbound_nodes", []), renamed)
        _rename_refs(config.get("output_layers", []), renamed)


def _rename_refs(value: Any, renamed: dict) -> None:
    """Point ``[layer_name, node_index, tensor_index, ...]`` references at the new names."""
    if isinstance(value, list):
        if value and isinstance(value[0], str) and value[0] in renamed:
            value[0] = renamed[value[0]]
            return
        for item in value:
            _rename_refs(item, renamed)


def _refuse(received: str, fix: str) -> None:
    raise ConfigError(f"model.export(format='tfjs'): expected layers and activations "
                      f"TensorFlow.js Layers implements. Received {received}. Fix: {fix}, or "
                      f"export with format='onnx', 'tf_saved_model' or 'torch'.")


def weight_entries(model: Any) -> list[tuple[str, np.ndarray]]:
    """``(name, array)`` for every weight, named and ordered as the converter reads a Keras 2
    ``.h5``: per layer, trainable then non-trainable weights, named ``<layer>/<weight>``."""
    entries, seen = [], {}
    for layer in model.layers:
        for var in list(layer.trainable_weights) + list(layer.non_trainable_weights):
            if var.path in seen:
                raise ConfigError(
                    f"model.export(format='tfjs'): expected unique weight names (tfjs-layers "
                    f"matches weights by name). Received '{var.path}' twice (layers "
                    f"'{seen[var.path]}' and '{layer.name}'). Fix: give the sublayers unique "
                    f"names.")
            seen[var.path] = layer.name
            entries.append((var.path, _array(var)))
    own = {id(v.value) for layer in model.layers for v in layer.weights}
    if any(id(v.value) not in own for v in model.weights):
        raise ConfigError(f"model.export(format='tfjs'): expected every weight of model "
                          f"'{model.name}' to belong to one of its layers (tfjs-layers has no "
                          f"model-level weights). Received "
                          f"{[v.path for v in model.weights if id(v.value) not in own]}. Fix: "
                          f"move them into a layer.")
    return entries


def _array(var: Any) -> np.ndarray:
    import torch
    value = var.value.detach().cpu()
    if value.dtype.is_floating_point:
        return value.float().numpy().astype("<f4", copy=False)
    if value.dtype == torch.bool:  # tfjs stores bool weights one byte each
        return value.numpy().astype(np.uint8)
    return value.numpy().astype("<i4")


def shards(entries: list[tuple[str, np.ndarray]], shard_size: int
           ) -> tuple[dict[str, bytes], list[dict]]:
    """The shard files (name -> bytes) and the one-group ``weightsManifest``.

    Example:
        >>> files, manifest = shards([("a", np.zeros(3, "<f4"))], 8)
        >>> {k: len(v) for k, v in files.items()}, manifest[0]["paths"]
        ({'group1-shard1of2.bin': 8, 'group1-shard2of2.bin': 4}, \
['group1-shard1of2.bin', 'group1-shard2of2.bin'])
    """
    data = b"".join(array.tobytes() for _, array in entries)
    count = max(1, -(-len(data) // shard_size))
    names = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    files = {name: data[i * shard_size:(i + 1) * shard_size] for i, name in enumerate(names)}
    weights = [{"name": name, "shape": list(array.shape), "dtype": _tfjs_dtype(array)}
               for name, array in entries]
    return files, [{"paths": names, "weights": weights}]


def _tfjs_dtype(array: np.ndarray) -> str:
    return {"f": "float32", "i": "int32", "u": "bool"}[array.dtype.kind]


__all__ = ["export", "shards", "topology_of", "weight_entries"]
