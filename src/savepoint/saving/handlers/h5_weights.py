"""Model weights <-> HDF5 layouts: Keras 2 ``*.h5`` (tf.keras) and Keras 3 ``*.weights.h5``.

Keras 2 (what tf-keras 2.21 ``save_weights("w.h5")`` writes): root attributes ``layer_names``,
``backend``, ``keras_version``; one group per layer with attribute ``weight_names``
(``dense/kernel:0`` ...) and one dataset per weight at ``<layer>/<weight name>``; the model's
own weights in ``top_level_model_weights``. Loading matches layers with weights by position
(or by name with ``by_name=True``, where ``skip_mismatch=True`` skips what does not fit).

Keras 3 (what ``keras.Model.save_weights("m.weights.h5")`` writes): ``vars/0``... per object
under paths built from attribute names and, inside layer lists, from class names (``layers/dense``,
``layers/dense_1``); each ``vars`` group has a ``name`` attribute; the optimizer's state is at
``optimizer/vars`` (iteration, learning rate, then its slots).

Only the model's public surface is used (``layers``, ``name``, ``weights``, ``Variable.path``/
``shape``/``assign``, ``optimizer.variables``). Loads validate every group, dataset, shape and
dtype, read into preallocated arrays, and only then assign: a failed load changes nothing.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
    >>> m.save_weights(path); m.load_weights(path)
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Iterator

import numpy as np
import torch

from savepoint.errors import (CheckpointNotFoundError, ConfigError, DTypeError, FormatError,
                              ShapeError)
from savepoint.saving import registry, storage
from savepoint.saving.engine import frozen
from savepoint.saving.formats.h5 import H5Reader, H5Writer
from savepoint.saving.handlers import verification

KERAS2_VERSION = "2.21.0"    # the tf.keras release whose layout and API savepoint follows
KERAS2_BACKEND = "tensorflow"  # tensor layouts are TensorFlow's (channels-last, (in, out) kernels)
TOP_LEVEL = "top_level_model_weights"

Plan = list[tuple[Any, str, str, str]]  # (variable, group, dataset, what) to read and assign


# ----- shared -------------------------------------------------------------------------------
def _host(var: Any) -> np.ndarray:
    """The variable's value as a host numpy view (a copy only for accelerator tensors)."""
    tensor = frozen.value(var).detach()
    if tensor.dtype == torch.bfloat16:
        raise DTypeError(
            f"Variable '{var.path}' is bfloat16, which the HDF5 weights formats do not store. "
            f"Fix: cast the model to float32 before saving, or save a checkpoint prefix.")
    return tensor.cpu().numpy()


def _numpy_dtype(var: Any) -> np.dtype:
    return np.dtype(str(var.value.dtype).replace("torch.", ""))


def _read_and_assign(reader: H5Reader, plan: Plan) -> None:
    """Check every dataset, read each into a fresh array, then assign them all."""
    for var, group, name, what in plan:
        reader.check(group, name, var.shape, _numpy_dtype(var), what)
    staged = []
    for var, group, name, what in plan:
        out = np.empty(var.shape, dtype=_numpy_dtype(var))
        reader.read_into(group, name, out, what)
        staged.append(out)
    for (var, _, _, _), value in zip(plan, staged):
        var.assign(value)


def _dataset_shape(reader: H5Reader, group: str, name: str, what: str) -> tuple:
    return tuple(reader.dataset(group, name, what).shape)


def _legacy_weights(layer: Any) -> list:
    """tf.keras 2's per-layer HDF5 order: trainable weights, then non-trainable ones (it
    differs from ``layer.weights`` for a nested model holding BatchNormalization)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _own_model_weights(model: Any) -> list:
    """Weights the model holds itself, outside its layers (Keras's top-level weights)."""
    in_layers = {id(v.value) for layer in model.layers for v in layer.weights}
    return [v for v in model.weights if id(v.value) not in in_layers]


# ----- Keras 2: w.h5 --------------------------------------------------------------------------
def save_h5(model: Any, path: str) -> None:
    """Write ``model``'s weights in tf.keras 2's HDF5 layout.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save_h5(m, os.path.join(tempfile.mkdtemp(), "w.h5"))
    """
    with H5Writer(path) as writer:
        write_h5_weights(writer, model, path)


def write_h5_weights(writer: H5Writer, model: Any, path: str, root: str = "") -> None:
    """Stream ``model``'s weights in Keras 2's layout into group ``root`` of an open writer
    (``"model_weights"`` in a whole-model ``.h5``)."""
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"Cannot save weights to {path!r}: expected unique layer names, but {duplicates} "
            f"name more than one layer. Fix: give each layer its own name=...")
    writer.set_attrs(root, {"layer_names": [n.encode("utf-8") for n in names],
                            "backend": KERAS2_BACKEND.encode(),
                            "keras_version": KERAS2_VERSION.encode()})
    for layer in sorted(layers, key=lambda l: l.name):
        _write_subset(writer, _join(root, layer.name), _legacy_weights(layer), path)
    _write_subset(writer, _join(root, TOP_LEVEL), _own_model_weights(model), path)


def _write_subset(writer: H5Writer, group: str, weights: list, path: str) -> None:
    names = [f"{v.path}:0" for v in weights]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"Cannot save weights to {path!r}: layer '{group}' has several weights named "
            f"{sorted({n for n in names if names.count(n) > 1})}. Fix: give the sublayers "
            f"unique names.")
    writer.set_attrs(group, {"weight_names": [n.encode("utf-8") for n in names]})
    for var, name in zip(weights, names):
        writer.write_array(group, name, _host(var))


def load_h5(model: Any, path: str, skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load tf.keras 2 HDF5 weights (``save_weights("w.h5")``, or a whole-model ``.h5``'s).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> p = os.path.join(tempfile.mkdtemp(), "w.h5"); save_h5(m, p); load_h5(m, p)
    """
    if skip_mismatch and not by_name:
        raise ConfigError(
            "When providing skip_mismatch=True, by_name must also be True (as in Keras 2): "
            "weights are matched by position otherwise. Fix: pass by_name=True as well.")
    with H5Reader(path) as reader:
        root = "model_weights" if reader.attr("", "layer_names") is None and \
            reader.has_group("model_weights") else ""
        layer_names = reader.string_list(root, "layer_names")
        if layer_names is None:
            raise _not_keras2(path)
        saved = [(n, _weight_names(reader, _join(root, n), n)) for n in layer_names]
        if by_name:
            plan = _plan_by_name(reader, model, saved, root, skip_mismatch)
        else:
            plan = _plan_by_order(reader, model, saved, root)
        _read_and_assign(reader, plan)


def _not_keras2(path: str) -> FormatError:
    return FormatError(
        f"HDF5 file {path!r} is not a Keras 2 weights file: expected a root attribute "
        f"'layer_names' (or a 'model_weights' group). Fix: for a Keras 3 file name it "
        f"'*.weights.h5'.")


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _weight_names(reader: H5Reader, group: str, layer: str) -> list[str]:
    reader.group(group, f"layer '{layer}' listed in layer_names")
    return reader.string_list(group, "weight_names") or []


def _plan_by_order(reader: H5Reader, model: Any, saved: list, root: str) -> Plan:
    ours = [layer for layer in model.layers if layer.weights]
    saved = [(name, weights) for name, weights in saved if weights]
    if len(ours) != len(saved):
        raise ShapeError(
            f"Layer count mismatch when loading weights from file {reader.path!r}. Model "
            f"expected {len(ours)} layers with weights ({[l.name for l in ours]}), found "
            f"{len(saved)} saved layers ({[n for n, _ in saved]}). Fix: build the model with "
            f"the architecture the file was saved from, or pass by_name=True.")
    plan: Plan = []
    for k, (layer, (name, weight_names)) in enumerate(zip(ours, saved)):
        weights = _legacy_weights(layer)
        if len(weights) != len(weight_names):
            raise ShapeError(
                f"Layer #{k} (named \"{layer.name}\" in the current model) was found to "
                f"correspond to layer {name} in the save file {reader.path!r}. However the new "
                f"layer {layer.name} expects {len(weights)} weights, but the saved weights "
                f"have {len(weight_names)} elements.")
        plan += [(v, _join(root, name), wn, f'layer "{layer.name}" weight "{v.name}"')
                 for v, wn in zip(weights, weight_names)]
    return plan + _plan_top_level(reader, model, root, skip_mismatch=False)


def _plan_top_level(reader: H5Reader, model: Any, root: str, skip_mismatch: bool) -> Plan:
    group = _join(root, TOP_LEVEL)
    names = _weight_names(reader, group, TOP_LEVEL) if reader.has_group(group) else []
    ours = _own_model_weights(model)
    if len(names) != len(ours):
        message = (f"Model '{model.name}' has {len(ours)} top-level weights, but the file "
                   f"{reader.path!r} has {len(names)}.")
        if skip_mismatch:
            warnings.warn(f"{message} Skipping them.", stacklevel=4)
            return []
        raise ShapeError(f"{message} Fix: load a file saved from the same architecture.")
    return [(v, group, n, f'model "{model.name}" weight "{v.name}"') for v, n in zip(ours, names)]


def _plan_by_name(reader: H5Reader, model: Any, saved: list, root: str,
                  skip_mismatch: bool) -> Plan:
    index: dict[str, list] = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    plan: Plan = []
    for name, weight_names in saved:
        group = _join(root, name)
        for layer in index.get(name, []):
            plan += _layer_by_name(reader, layer, group, weight_names, skip_mismatch)
    return plan + _plan_top_level(reader, model, root, skip_mismatch)


def _layer_by_name(reader: H5Reader, layer: Any, group: str, weight_names: list[str],
                   skip_mismatch: bool) -> Plan:
    weights = _legacy_weights(layer)
    if len(weights) != len(weight_names):
        message = (f"Layer \"{layer.name}\" expects {len(weights)} weights, but the saved "
                   f"weights in {reader.path!r} have {len(weight_names)} elements.")
        if skip_mismatch:
            warnings.warn(f"Skipping loading of weights for layer \"{layer.name}\": {message}",
                          stacklevel=5)
            return []
        raise ShapeError(f"{message} Fix: pass skip_mismatch=True to skip it.")
    plan: Plan = []
    for var, wname in zip(weights, weight_names):
        what = f'layer "{layer.name}" weight "{var.name}"'
        shape = _dataset_shape(reader, group, wname, what)
        if skip_mismatch and shape != var.shape:
            warnings.warn(
                f"Skipping loading weights for layer \"{layer.name}\" due to mismatch in shape "
                f"for weight {var.name}. Weight expects shape {var.shape}. Received saved "
                f"weight with shape {shape}.", stacklevel=5)
            continue
        plan.append((var, group, wname, what))
    return plan


# ----- Keras 3: m.weights.h5 ------------------------------------------------------------------
def _snake_case(name: str) -> str:
    """Keras 3's ``to_snake_case`` (``BatchNormalization`` -> ``batch_normalization``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_network(layer: Any) -> bool:
    return hasattr(layer, "layers") and getattr(layer, "inputs", None) is not None


def _keras3_class(layer: Any) -> str:
    name = type(layer).__name__
    return "Functional" if name == "Model" and _is_network(layer) else name


def _container(prefix: str, items: list) -> list[tuple[str, Any]]:
    used: dict[str, int] = {}
    out = []
    for item in items:
        name = _snake_case(_keras3_class(item))
        used[name] = used.get(name, -1) + 1
        out.append((f"{prefix}/{name}" + (f"_{used[name]}" if used[name] else ""), item))
    return out


def _children(layer: Any) -> list[tuple[str, Any]]:
    """Child layers with their Keras 3 path: ``layers/<class>`` for networks, else attribute
    names (public ones first, then private, each sorted) with lists named by class."""
    if _is_network(layer):
        return _container("layers", list(layer.layers))
    out: list[tuple[str, Any]] = []
    for attr, module in sorted(layer.named_children(),
                               key=lambda kv: ("~" + kv[0]) if kv[0].startswith("_") else kv[0]):
        if isinstance(module, torch.nn.ModuleDict):
            module = list(module.values())
        if isinstance(module, (torch.nn.ModuleList, list)):
            out += _container(attr, [m for m in module if hasattr(m, "weights")])
        elif hasattr(module, "weights") and hasattr(module, "name"):
            out.append((attr, module))
    return out


def _keras3_nodes(layer: Any, path: str = "", seen: set | None = None
                  ) -> Iterator[tuple[str, Any, list]]:
    """``(path, layer, own variables)`` for the layer and every nested layer."""
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return
    seen.add(id(layer))
    children = _children(layer)
    nested = {id(v.value) for _, child in children for v in child.weights}
    yield path, layer, [v for v in layer.weights if id(v.value) not in nested]
    for child_path, child in children:
        yield from _keras3_nodes(child, _join(path, child_path), seen)


def _has_lr_variable(optimizer: Any) -> bool:
    """Keras 3 stores the learning rate as a variable unless it is a schedule."""
    return isinstance(optimizer.get_config().get("learning_rate"), (int, float))


def save_keras_h5(model: Any, path: str, include_optimizer: bool = True,
                  fileobj: Any = None) -> None:
    """Write ``model``'s weights (and, unless ``include_optimizer=False``, its optimizer state)
    in Keras 3's ``.weights.h5`` layout (into ``fileobj`` instead of ``path`` when given).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> save_keras_h5(m, os.path.join(tempfile.mkdtemp(), "m.weights.h5"))
    """
    with H5Writer(path, fileobj) as writer:
        for node_path, layer, own in _keras3_nodes(model):
            _write_vars(writer, node_path, layer.name, [_host(v) for v in own])
        optimizer = getattr(model, "optimizer", None) if include_optimizer else None
        if optimizer is not None:
            variables = [_host(v) for v in optimizer.variables]
            if _has_lr_variable(optimizer):
                variables.insert(1, np.asarray(optimizer.learning_rate, dtype=np.float32))
            _write_vars(writer, "optimizer", optimizer.name, variables)


def _write_vars(writer: H5Writer, path: str, name: str, arrays: list[np.ndarray]) -> None:
    group = _join(path, "vars")
    writer.set_attrs(group, {"name": name})
    for i, array in enumerate(arrays):
        writer.write_array(group, str(i), array)


def load_keras_h5(model: Any, path: str, skip_mismatch: bool = False,
                  by_name: bool = False, fileobj: Any = None) -> None:
    """Load Keras 3 ``.weights.h5`` weights (and optimizer state when the model has one), from
    ``fileobj`` instead of ``path`` when given (``path`` then names it in messages).

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> p = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
        >>> save_keras_h5(m, p); load_keras_h5(m, p)
    """
    if by_name:
        raise ConfigError(
            f"by_name=True is not supported for Keras 3 '.weights.h5' files such as {path!r}: "
            f"they match layers by their place in the model, as Keras 3 does. Fix: drop "
            f"by_name, or save a Keras 2 '.h5' file to load by name.")
    with H5Reader(path, fileobj) as reader:
        plan: Plan = []
        for node_path, layer, own in _keras3_nodes(model):
            plan += _plan_keras3_layer(reader, _join(node_path, "vars"), layer, own,
                                       skip_mismatch)
        optimizer_plan, deferred = _plan_optimizer(reader, getattr(model, "optimizer", None))
        _read_and_assign(reader, plan + optimizer_plan)
    if deferred is not None:
        optimizer, values = deferred
        optimizer._defer_restore(values)


def _plan_keras3_layer(reader: H5Reader, group: str, layer: Any, own: list,
                       skip_mismatch: bool) -> Plan:
    keys = reader.keys(group) if reader.has_group(group) else []
    if len(keys) != len(own):
        message = (f"Layer '{layer.name}' expected {len(own)} variables, but received "
                   f"{len(keys)} variables during loading from {reader.path!r} (group "
                   f"{group!r}). Expected: {[v.name for v in own]}.")
        if skip_mismatch:
            warnings.warn(f"{message} Skipping the layer.", stacklevel=4)
            return []
        raise ShapeError(f"{message} Fix: build the model with the architecture the file was "
                         f"saved from, or pass skip_mismatch=True.")
    plan = [(v, group, str(i), f'layer "{layer.name}" variable "{v.name}"')
            for i, v in enumerate(own)]
    if skip_mismatch and any(_dataset_shape(reader, g, n, w) != v.shape for v, g, n, w in plan):
        warnings.warn(f"Skipping layer '{layer.name}': the shapes of its variables in "
                      f"{reader.path!r} differ from the model's.", stacklevel=4)
        return []
    return plan


def _plan_optimizer(reader: H5Reader, optimizer: Any) -> tuple[Plan, Any]:
    """Plan the optimizer's restore: iteration, learning rate, slots (deferred if unbuilt)."""
    group = "optimizer/vars"
    if optimizer is None or not reader.has_group(group):
        return [], None
    count = len(reader.keys(group))
    ours = list(optimizer.variables)
    head = 2 if _has_lr_variable(optimizer) else 1
    built = bool(getattr(optimizer, "built", len(ours) > 1))
    if built and count != head + len(ours) - 1:
        warnings.warn(
            f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
            f"{head + len(ours) - 1} variables whereas the saved optimizer in {reader.path!r} "
            f"has {count} variables.", stacklevel=4)
        return [], None
    plan: Plan = [(ours[0], group, "0", f"optimizer '{optimizer.name}' iteration")]
    if head == 2:
        plan.append((_LearningRate(optimizer), group, "1",
                     f"optimizer '{optimizer.name}' learning_rate"))
    if built:
        return plan + [(v, group, str(i + head - 1), f"optimizer '{optimizer.name}' "
                        f"variable \"{v.name}\"") for i, v in enumerate(ours) if i > 0], None
    values = {i - head + 1: reader.read_array(group, str(i), f"optimizer '{optimizer.name}' "
                                              f"slot #{i}") for i in range(head, count)}
    optimizer._check_deferred(values)
    return plan, (optimizer, values)


class _LearningRate:
    """A float32 scalar handle whose ``assign`` sets the optimizer's learning rate (keeping
    our exact float when the file's float32 is its rounding, so resumed runs match)."""

    name = path = "learning_rate"
    shape = ()

    def __init__(self, optimizer: Any):
        self.optimizer = optimizer
        self.value = torch.zeros((), dtype=torch.float32)

    def assign(self, value: Any) -> None:
        value = np.float32(value)
        if np.float32(self.optimizer.learning_rate) != value:
            self.optimizer.learning_rate = float(value)


def file_loader(load: Any) -> Any:
    """``load`` behind the check that the weights file exists (a clear error, not HDF5's).

    Example:
        >>> file_loader(load_h5)(None, "/nonexistent/w.h5")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    def load_file(model: Any, path: str, skip_mismatch: bool = False,
                  by_name: bool = False) -> None:
        if not storage.exists(path):
            raise CheckpointNotFoundError(
                f"Expected a weights file at {path!r}. Received a path that does not exist. "
                f"Fix: check the path.")
        return load(model, path, skip_mismatch, by_name=by_name)
    return load_file


registry.register(registry.FormatSpec(
    name="keras_weights_h5", kind="weights", suffixes=(".weights.h5",), example="w.weights.h5",
    save=save_keras_h5,
    load=file_loader(load_keras_h5), verify=verification.verify_h5, delete=storage.remove,
    present=storage.exists, aliases=("keras",), description="'.weights.h5' (Keras 3)"))
registry.register(registry.FormatSpec(
    name="h5_weights", kind="weights", suffixes=(".h5", ".hdf5"), example="w.h5",
    save=save_h5,
    load=file_loader(load_h5), verify=verification.verify_h5, delete=storage.remove,
    present=storage.exists, aliases=("h5",), description="'.h5' (Keras 2 weights)"))
