"""Native model/compile configs <-> tf.keras 2's ``.h5`` ``model_config``/``training_config`` JSON.

tf-keras 2.21 writes layers as ``{"class_name", "config"}`` (functional layers add ``name`` and
``inbound_nodes`` as nested lists ``[[["input_1", 0, 0, {}]]]``), the functional class as
``"Functional"``, initializers/regularizers as ``{"module": "keras.initializers", "class_name",
"config", "registered_name": null}``, ``InputLayer`` with ``"optional": false``, and a training
config ``{"loss", "metrics" (one list per output), "weighted_metrics", "loss_weights",
"optimizer_config": {"class_name": "Custom>Adam", "config"}}``. Savepoint's native configs are
Keras 3 shaped (``module``/``registered_name`` everywhere, ``{"args", "kwargs"}`` nodes).
Translations only reshape JSON: modules are dropped on the way in, classes resolve later by name.

Example:
    >>> native = {"module": "savepoint.models.sequential", "class_name": "Sequential",
    ...           "registered_name": "Sequential", "config": {"name": "s", "layers": []}}
    >>> model_to_keras2(native)
    {'class_name': 'Sequential', 'config': {'name': 's', 'layers': []}}
    >>> model_from_keras2(model_to_keras2(native))["class_name"]
    'Sequential'
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError, FormatError

_MODULES_OUT = {"savepoint.layers.initializers": "keras.initializers",
                "savepoint.layers.regularizers": "keras.regularizers",
                "savepoint.layers.constraints": "keras.constraints",
                "savepoint.optimizers.schedules": "keras.optimizers.schedules"}
_SLOTS_OUT = {"SGD": {"momentum": "m"}}          # tf-keras slot names that differ from ours
_LOSS_DROP = {"SparseCategoricalCrossentropy": {"axis": -1}}  # keys tf-keras 2 does not take
_GRAPH = ("Sequential", "Functional")
_TF_OPS = ("TFOpLambda", "SlicingOpLambda")   # layers that keep their input's structure


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def optimizer_class_name(class_name: str) -> str:
    """The ``class_name`` tf-keras 2.21 writes for a built-in optimizer (``Custom>Adam``)."""
    return f"Custom>{class_name}"


# ----- savepoint -> tf.keras 2 ----------------------------------------------------------------
def model_to_keras2(native: dict) -> dict:
    """A native model config (``model_config.model_to_config``) in tf.keras 2's shape."""
    config = native.get("config", {})
    class_name = _class_out(native)
    if class_name == "Model" and "input_layers" in config:
        class_name = "Functional"
    if isinstance(config, dict) and "layers" in config:
        config = dict(config, layers=[_layer_out(layer) for layer in config["layers"]])
        if class_name == "Functional":
            _shift_network_nodes_out(config, _own_node_networks(native["config"]["layers"]))
    else:
        config = _value_out(config)
    out = {"class_name": class_name, "config": config}
    if class_name not in _GRAPH and native.get("build_config") is not None:
        out["build_config"] = native["build_config"]  # subclassed models rebuild from it
    return out


def _class_out(native: dict) -> str:
    return native.get("registered_name") or native["class_name"]


def _layer_out(layer: dict) -> dict:
    if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
        out = model_to_keras2(layer)
    else:
        config = _value_out(layer.get("config", {}))
        if layer.get("class_name") == "InputLayer":
            config = {**config, "optional": False}
        out = {"class_name": _class_out(layer), "config": config}
    if "inbound_nodes" in layer:
        out["name"] = layer["name"]
        out["inbound_nodes"] = [_node_out(node, layer["name"]) for node in layer["inbound_nodes"]]
        if out["class_name"] in _TF_OPS:  # one tensor argument is written unnested
            out["inbound_nodes"] = [n[0] if len(n) == 1 and isinstance(n[0], list) and
                                    _is_single(node) else n for n, node in
                                    zip(out["inbound_nodes"], layer["inbound_nodes"])]
    return out


def _is_single(node: dict) -> bool:
    return _is_tensor((node.get("args") or [None])[0])


def _value_out(value: Any) -> Any:
    if isinstance(value, list):
        return [_value_out(v) for v in value]
    if not isinstance(value, dict):
        return value
    if not _is_object(value):
        return {k: _value_out(v) for k, v in value.items()}
    module = value.get("module") or ""
    builtin = module.startswith("savepoint.")
    return {"module": _MODULES_OUT.get(module, module if not builtin else "keras"),
            "class_name": value["class_name"] if builtin else _class_out(value),
            "config": _value_out(value["config"]),
            "registered_name": None if builtin else value.get("registered_name")}


def _node_out(node: dict, layer: str) -> list:
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    if len(args) != 1:
        raise ConfigError(f"Layer '{layer}' is called with {len(args)} positional arguments; "
                          f"the Keras 2 .h5 format records exactly one (a tensor or a list of "
                          f"tensors). Fix: pass the inputs as one list, or save as a directory.")
    if not _is_tensor(args[0]) and not isinstance(args[0], list):
        # A TF op whose first argument is a constant (``2.0 - x``): tf.keras's marker.
        return ["_CONSTANT_VALUE", -1, args[0], _tensor_kwargs_out(kwargs)]
    refs = args[0] if isinstance(args[0], list) else [args[0]]
    states = kwargs.get("initial_state")
    if isinstance(states, list) and states and all(_is_tensor(s) for s in states):
        # tf.keras 2 records an RNN's symbolic initial states as extra inputs
        refs, kwargs = refs + states, {k: v for k, v in kwargs.items() if k != "initial_state"}
    if not all(_is_tensor(r) for r in refs):
        raise ConfigError(f"Layer '{layer}' takes tensors outside its first argument, which the "
                          f"Keras 2 .h5 format cannot record. Fix: save as a directory instead.")
    # tf.keras 2 writes a tensor keyword argument (MultiHeadAttention's value=) as its history.
    kwargs = _tensor_kwargs_out(kwargs)
    return [[*r["config"]["keras_history"], kwargs] for r in refs]


def _tensor_kwargs_out(kwargs: dict) -> dict:
    return {k: list(v["config"]["keras_history"]) if _is_tensor(v) else v
            for k, v in kwargs.items()}


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def training_to_keras2(compiled: dict | None) -> dict | None:
    """A native compile config (``model_config.compile_config``) as tf.keras 2's
    ``training_config``; metrics become one list per output, as tf-keras records them."""
    if not compiled:
        return None
    metrics, weighted = compiled.get("metrics"), compiled.get("weighted_metrics")
    if isinstance(metrics, list) and not any(isinstance(m, list) for m in metrics):
        metrics = [metrics]
    if isinstance(weighted, list) and not any(isinstance(m, list) for m in weighted):
        weighted = [weighted]
    return {"loss": _loss_out(compiled.get("loss")), "metrics": _plain_out(metrics),
            "weighted_metrics": _plain_out(weighted),
            "loss_weights": compiled.get("loss_weights"),
            "optimizer_config": _optimizer_out(compiled["optimizer"])}


def _loss_out(loss: Any) -> Any:
    if isinstance(loss, list):
        return [_loss_out(v) for v in loss]
    if isinstance(loss, dict) and not _is_object(loss):
        return {k: _loss_out(v) for k, v in loss.items()}
    if not _is_object(loss):
        return loss
    name, config = loss["class_name"], dict(loss["config"])
    for key, default in _LOSS_DROP.get(name, {}).items():
        if config.get(key, default) != default:
            raise ConfigError(f"tf.keras 2's {name} has no '{key}' argument, so {key}="
                              f"{config[key]!r} cannot be saved to '.h5'. Fix: use {key}="
                              f"{default!r} or save as a directory.")
        config.pop(key, None)
    if config.get("reduction") == "sum_over_batch_size":
        config["reduction"] = "auto"
    if (loss.get("module") or "").startswith("savepoint."):
        config["fn"] = config.get("name")
    return {"class_name": _class_out(loss), "config": config}


def _plain_out(value: Any) -> Any:
    """Metrics: ``{"class_name", "config"}`` objects, names kept as strings."""
    if isinstance(value, list):
        return [_plain_out(v) for v in value]
    if isinstance(value, dict) and not _is_object(value):
        return {k: _plain_out(v) for k, v in value.items()}
    if _is_object(value):
        return {"class_name": _class_out(value), "config": value["config"]}
    return value


def _optimizer_out(optimizer: Any) -> dict:
    if not _is_object(optimizer):
        raise ConfigError(f"Expected the optimizer as a config object. Received {optimizer!r}.")
    class_name = optimizer["class_name"]
    builtin = (optimizer.get("module") or "").startswith("savepoint.")
    config = _value_out(optimizer["config"])
    if builtin and config.get("name") == class_name.lower():
        config["name"] = class_name  # Keras 2 names optimizers after their class
    return {"class_name": optimizer_class_name(class_name) if builtin else _class_out(optimizer),
            "config": config}


def slot_name_out(optimizer_class: str, path: str, optimizer_name: str) -> str:
    """tf-keras 2's name for an optimizer variable (``Adam/m/dense/kernel:0``)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == optimizer_class:
        slot = _SLOTS_OUT.get(optimizer_class, {}).get(parts[1], parts[1])
        parts = [optimizer_name, slot, *parts[2:]]
    return "/".join(parts) + ":0"


# ----- tf.keras 2 -> savepoint ----------------------------------------------------------------
def model_from_keras2(config: Any) -> dict:
    """tf.keras 2's ``model_config`` in savepoint's native shape (``FormatError`` if malformed)."""
    if not _is_object(config) or not isinstance(config["class_name"], str):
        raise FormatError(f"Expected a Keras 2 model_config {{'class_name', 'config'}}. "
                          f"Received {str(config)[:200]!r}.")
    class_name, inner = config["class_name"], config["config"]
    if class_name in ("Functional", "Model"):
        class_name = "Model"
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        inner = dict(inner, layers=[_layer_in(layer) for layer in inner["layers"]])
        for key in ("input_layers", "output_layers"):
            if key in inner:
                inner[key] = _refs_in(inner[key], key)
        _shift_network_nodes_in(inner, _own_node_networks(inner["layers"]))
    else:
        inner = _value_in(inner)
    out = {"class_name": class_name.split(">")[-1], "config": inner,
           "registered_name": class_name}
    if config.get("build_config") is not None:
        out["build_config"] = config["build_config"]
    return out


def _own_node_networks(layers: list) -> set:
    """Names of nested models that tf.keras 2 gives a node of their own when they are built
    from inputs (functional models, Sequentials with an input shape): every later call of
    such a model is node 1, 2 ... there, 0, 1 ... in savepoint, which records calls only."""
    names = set()
    for layer in layers:
        config = layer.get("config") if isinstance(layer, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            continue
        inner = config["layers"]
        if "input_layers" in config or (inner and isinstance(inner[0], dict) and
                                        inner[0].get("class_name") == "InputLayer"):
            names.add(layer.get("name", config.get("name")))
    return names


def _shift_network_nodes_in(config: dict, networks: set) -> None:
    if not networks:
        return
    def shift(ref: dict) -> None:
        history = ref["config"]["keras_history"]
        if history[0] in networks:
            if history[1] < 1:
                raise FormatError(f"Expected node indices of nested model '{history[0]}' to "
                                  f"start at 1 in a Keras 2 config (node 0 is its own). "
                                  f"Received {history}.")
            history[1] -= 1
    for layer in config["layers"]:
        for node in layer.get("inbound_nodes", []):
            for value in [*node["args"], *node["kwargs"].values()]:
                for ref in value if isinstance(value, list) else [value]:
                    if _is_tensor(ref):
                        shift(ref)
    for key in ("input_layers", "output_layers"):
        for ref in config.get(key, []):
            if ref[0] in networks:
                ref[1] -= 1


def _shift_network_nodes_out(config: dict, networks: set) -> None:
    if not networks:
        return
    for layer in config["layers"]:
        for node in layer.get("inbound_nodes", []):
            # A TFOpLambda's node of one tensor is a bare ref, and its constant-first-argument
            # node is ["_CONSTANT_VALUE", -1, value, kwargs] (never a network; kwargs may be).
            for ref in [node] if isinstance(node[0], str) else node:
                if ref[0] in networks and ref[1] >= 0:
                    ref[1] += 1
                for value in ref[3].values() if len(ref) > 3 else ():
                    if _is_ref(value, 3, 3) and value[0] in networks:
                        value[1] += 1
    for key in ("input_layers", "output_layers"):
        refs = config.get(key, [])
        for ref in [refs] if _is_ref(refs, 3, 3) else refs:
            if ref[0] in networks:
                ref[1] += 1


def _layer_in(layer: Any) -> dict:
    if not _is_object(layer) or not isinstance(layer["class_name"], str) or \
            not isinstance(layer["config"], dict):
        raise FormatError(f"Expected each layer of the Keras 2 model_config as {{'class_name', "
                          f"'config'}}. Received {str(layer)[:200]!r}.")
    if "layers" in layer["config"]:
        out = model_from_keras2(layer)
    else:
        config = _value_in(layer["config"])
        if layer["class_name"] == "InputLayer":
            if config.pop("optional", False):
                raise ConfigError(f"InputLayer '{config.get('name')}' is optional=True, which "
                                  f"savepoint does not support. Fix: re-save it with a required "
                                  f"input.")
        out = {"class_name": layer["class_name"].split(">")[-1], "config": config,
               "registered_name": layer["class_name"]}
    if "inbound_nodes" in layer:
        out["name"] = layer.get("name", layer["config"].get("name"))
        out["inbound_nodes"] = [_node_in(node, out["name"]) for node in layer["inbound_nodes"]]
    return out


def _value_in(value: Any) -> Any:
    if isinstance(value, list):
        return [_value_in(v) for v in value]
    if not isinstance(value, dict):
        return value
    if not _is_object(value) or not isinstance(value["class_name"], str):
        return {k: _value_in(v) for k, v in value.items()}
    if value["class_name"] == "Policy" and isinstance(value["config"], dict):
        return value["config"].get("name")  # a dtype policy: its name is the dtype
    registered = value.get("registered_name") or value["class_name"]
    return {"class_name": value["class_name"].split(">")[-1], "config": _value_in(value["config"]),
            "registered_name": registered}


def _node_in(node: Any, layer: str) -> dict:
    if isinstance(node, list) and len(node) == 4 and isinstance(node[0], str):
        # A TFOpLambda keeps its first argument's structure: one tensor is written unnested,
        # a constant first argument (``2.0 - x``) as ["_CONSTANT_VALUE", -1, value, kwargs].
        if node[0] == "_CONSTANT_VALUE":
            kwargs = _node_in([["_CONSTANT_VALUE", 0, 0, node[3]]], layer)["kwargs"]
            return {"args": [node[2]], "kwargs": kwargs}
        out = _node_in([node], layer)
        return out
    if not isinstance(node, list) or not node or not all(_is_ref(r, 3, 4) for r in node):
        raise FormatError(f"Expected the inbound node of layer '{layer}' as a list of "
                          f"[layer_name, node_index, tensor_index, kwargs]. Received "
                          f"{str(node)[:200]!r}.")
    refs = [{"class_name": "__keras_tensor__", "config": {"keras_history": list(r[:3])}}
            for r in node]
    kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    kwargs = {k: {"class_name": "__keras_tensor__", "config": {"keras_history": list(v)}}
              if _is_ref(v, 3, 3) else v for k, v in kwargs.items()}
    return {"args": [refs[0] if len(refs) == 1 else refs], "kwargs": kwargs}


def _is_ref(ref: Any, low: int, high: int) -> bool:
    return isinstance(ref, list) and low <= len(ref) <= high and isinstance(ref[0], str) and \
        all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ref[1:3])


def _refs_in(refs: Any, key: str) -> list:
    if _is_ref(refs, 3, 3):
        refs = [refs]  # a single input/output written unnested
    if not isinstance(refs, list) or not all(_is_ref(r, 3, 3) for r in refs):
        raise FormatError(f"Expected {key} as a list of [layer_name, node_index, tensor_index]. "
                          f"Received {str(refs)[:200]!r}.")
    return [list(r) for r in refs]


def training_from_keras2(training: Any) -> dict:
    """tf.keras 2's ``training_config`` as a native compile config."""
    if not isinstance(training, dict) or not _is_object(training.get("optimizer_config")):
        raise FormatError(f"Expected a Keras 2 training_config with an 'optimizer_config' "
                          f"{{'class_name', 'config'}}. Received {str(training)[:200]!r}.")
    optimizer = training["optimizer_config"]
    name = optimizer["class_name"].split(">")[-1]
    config = _value_in(optimizer["config"])
    if isinstance(config, dict) and config.get("name") == name:
        config["name"] = name.lower()  # savepoint's default optimizer name
    metrics, weighted = training.get("metrics"), training.get("weighted_metrics")
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]
    if isinstance(weighted, list) and len(weighted) == 1 and isinstance(weighted[0], list):
        weighted = weighted[0]
    return {"optimizer": {"class_name": name, "config": config,
                          "registered_name": optimizer["class_name"]},
            "loss": _loss_in(training.get("loss")), "metrics": _value_in(metrics),
            "weighted_metrics": _value_in(weighted),
            "loss_weights": training.get("loss_weights")}


def _loss_in(loss: Any) -> Any:
    if isinstance(loss, list):
        return [_loss_in(v) for v in loss]
    if isinstance(loss, dict) and not _is_object(loss):
        return {k: _loss_in(v) for k, v in loss.items()}
    if not _is_object(loss):
        return loss
    native = _value_in(loss)
    config = {k: v for k, v in native["config"].items() if k != "fn"}
    if config.get("reduction") == "auto":
        config["reduction"] = "sum_over_batch_size"
    return {**native, "config": config}


__all__ = ["model_from_keras2", "model_to_keras2", "optimizer_class_name", "slot_name_out",
           "training_from_keras2", "training_to_keras2"]
