"""Keras 3's ``config.json``/``metadata.json`` dialect <-> savepoint's native model configs.

Native configs (``saving.model_config``) name savepoint modules and keep tf.keras 2 layer
arguments; Keras 3 names ``keras.*`` modules, wraps dtypes in ``DTypePolicy`` objects, gives
``InputLayer`` a ``batch_shape``, stores single model inputs/outputs unwrapped, and puts the
compile config inside the model config. ``to_keras3`` and ``from_keras3`` translate; no module
named in a file is ever imported, and Keras-3-only settings savepoint cannot honour are refused
with an error that names them rather than silently dropped (defaults are dropped).

Example:
    >>> import savepoint as keras
    >>> from savepoint.saving.engine.model_config import model_to_config
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> k3 = to_keras3(model_to_config(m), None)
    >>> k3["module"], k3["config"]["layers"][0]["config"]["batch_shape"]
    ('keras', [None, 3])
    >>> native, compile_config = from_keras3(k3)
    >>> native["config"]["layers"][1]["class_name"], compile_config
    ('Dense', None)
"""

from __future__ import annotations

import datetime
from typing import Any

from savepoint.errors import ConfigError, FormatError, UnknownObjectError

KERAS_VERSION = "3.15.1"   # the Keras 3 release whose .keras layout savepoint writes and tests
READS_MAJOR = 3            # metadata keras_version majors this module understands

_OUT_MODULES = (  # native module prefix -> Keras 3 module, most specific first
    ("savepoint.layers.initializers", "keras.initializers"),
    ("savepoint.layers.regularizers", "keras.regularizers"),
    ("savepoint.layers.constraints", "keras.constraints"),
    ("savepoint.applications.convnext", "keras.src.applications.convnext"),  # LayerScale
    ("savepoint.layers", "keras.layers"),
    ("savepoint.optimizers.schedules", "keras.optimizers.schedules"),
    ("savepoint.optimizers", "keras.optimizers"),
    ("savepoint.losses", "keras.losses"),
    ("savepoint.metrics", "keras.metrics"),
    ("savepoint.models", "keras"),
)
_IN_MODULES = {"keras.initializers": "savepoint.layers.initializers",
               "keras.regularizers": "savepoint.layers.regularizers",
               "keras.constraints": "savepoint.layers.constraints",
               "keras.optimizers.schedules": "savepoint.optimizers.schedules",
               "keras.optimizers": "savepoint.optimizers", "keras.losses": "savepoint.losses",
               "keras.metrics": "savepoint.metrics", "keras.layers": "savepoint.layers"}
_TF_OPS = ("TFOpLambda", "SlicingOpLambda")  # written as Keras 3 operations (issue 8.6)
# savepoint (tf.keras 2) arguments Keras 3 does not take, dropped on the way out
_DROP_OUT = {"jit_compile", "is_legacy_optimizer", "input_length", "batch_input_shape"}
# Keras 3 arguments savepoint does not take: dropped when they hold this default, else refused
_KERAS3_ONLY: dict[str, Any] = {
    "quantization_config": None, "lora_rank": None, "lora_alpha": None, "optional": False,
    "synchronized": False, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
    "rms_scaling": False, "input_axes": None, "output_axes": None, "loss_scale_factor": None,
    "gradient_accumulation_steps": None, "weighted_metrics": None, "run_eagerly": False,
    "steps_per_execution": 1, "auto_scale_loss": True, "shared_object_id": Any,
    "build_config": Any, "jit_compile": Any}
# Activation names whose Keras 3 definition differs from tf.keras 2's (both evaluated on the
# same input): Keras 3's hard_sigmoid is relu6(x + 3) / 6, Keras 2's clip(0.2 x + 0.5, 0, 1);
# hard_silu is Keras 3 only. Every other name both know computes the same numbers (gelu is
# exact by default in both, leaky_relu's slope is 0.2 in both).
_ACTIVATIONS_IN = {"hard_sigmoid": "keras3_hard_sigmoid", "hard_silu": "keras3_hard_silu",
                   "hard_swish": "keras3_hard_silu"}
_ACTIVATIONS_OUT = {"keras3_hard_sigmoid": "hard_sigmoid", "keras3_hard_silu": "hard_silu"}
# Keras 2's hard_sigmoid has no Keras 3 function (keras.ops.hard_sigmoid is x / 6 too). It is
# written as the reference Keras 3 itself writes for a function registered as
# ``savepoint>keras2_hard_sigmoid``: Keras 3 then refuses the file ("Could not locate function")
# unless that function is registered (the code in KERAS2_HARD_SIGMOID), and never silently
# computes other numbers.
KERAS2_HARD_SIGMOID_NAME = "savepoint>keras2_hard_sigmoid"
_KERAS2_HARD_SIGMOID_REF = {"module": "builtins", "class_name": "function",
                            "config": KERAS2_HARD_SIGMOID_NAME, "registered_name": "function"}
KERAS2_HARD_SIGMOID = (
    "import keras\n\n\n"
    "@keras.saving.register_keras_serializable(package='savepoint')\n"
    "def keras2_hard_sigmoid(x):\n"
    "    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)\n")


def _activation_out(value: Any) -> Any:
    """A native activation name -> what Keras 3 must read to compute the same numbers."""
    if value == "hard_sigmoid":
        return dict(_KERAS2_HARD_SIGMOID_REF)
    return _ACTIVATIONS_OUT.get(value, value) if isinstance(value, str) else _out(value)


def _activation_in(value: Any) -> Any:
    """A Keras 3 activation (a name, or a reference to a ``keras.*`` function) -> the native
    name of the function with Keras 3's numbers."""
    if isinstance(value, dict) and value.get("class_name") == "function" and \
            str(value.get("module") or "").startswith("keras") and \
            value.get("config") in _ACTIVATIONS_IN:
        return _ACTIVATIONS_IN[value["config"]]
    return _ACTIVATIONS_IN.get(value, value) if isinstance(value, str) else value


# ----- metadata -----------------------------------------------------------------------------
def metadata() -> dict:
    """``metadata.json`` as Keras 3 writes it.

    Example:
        >>> sorted(metadata())
        ['date_saved', 'keras_version']
    """
    return {"keras_version": KERAS_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}


def check_metadata(meta: dict, path: str) -> None:
    """Refuse ``metadata.json`` from a Keras (format) version newer than this module reads.

    Example:
        >>> check_metadata({"keras_version": "3.15.1"}, "m.keras")
    """
    version = meta.get("keras_version")
    if not isinstance(version, str) or not version.split(".")[0].isdigit():
        raise FormatError(f"Expected metadata.json of {path!r} to hold a 'keras_version' such as "
                          f"'3.15.1'. Received {version!r}. Fix: save the model again.")
    major = int(version.split(".")[0])
    if major > READS_MAJOR:
        raise FormatError(
            f"{path!r} was saved by Keras {version}; this savepoint reads '.keras' files of "
            f"Keras {READS_MAJOR}.x. Fix: upgrade savepoint, or save the model with Keras "
            f"{READS_MAJOR}.")
    if major < 3:
        raise FormatError(f"{path!r} claims Keras {version}, which never wrote '.keras' zips. "
                          f"Fix: save the model again.")


# ----- native -> Keras 3 --------------------------------------------------------------------
def to_keras3(model_config: dict, compile_config: dict | None) -> dict:
    """The ``config.json`` Keras 3 writes for a model with this native config."""
    config = _rename_layers(_out(model_config), SLASH, KERAS3_SLASH)
    if compile_config:
        config["compile_config"] = {
            "optimizer": _out(compile_config.get("optimizer")),
            "loss": _out(compile_config.get("loss")),
            "loss_weights": compile_config.get("loss_weights"),
            "metrics": _out(compile_config.get("metrics")),
            "weighted_metrics": _out(compile_config.get("weighted_metrics")),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    return config


# Keras 3 refuses "/" in a layer name, and tf.keras 2 names MobileNetV3's and DenseNet's layers
# "Conv/BatchNorm", "conv1/bn". In .keras files such a "/" is U+2215 DIVISION SLASH ("conv1∕bn":
# Keras 3 accepts it and shows nearly the same name), and reads back as "/". Weight paths in
# model.weights.h5 follow class names, not layer names, so they need no change.
SLASH, KERAS3_SLASH = "/", "\u2215"


def _rename_layers(value: Any, old: str, new: str) -> Any:
    """``value`` (a config) with ``old`` replaced by ``new`` in every layer name: the layers'
    ``config.name`` and functional ``name``, ``keras_history`` and input/output references.

    Example:
        >>> ref = {"class_name": "__keras_tensor__", "config": {"keras_history": ["a/b", 0, 0]}}
        >>> _rename_layers({"input_layers": ["a/b", 0, 0], "args": [ref]}, "/", "+")
        {'input_layers': ['a+b', 0, 0], 'args': [{'class_name': '__keras_tensor__', \
'config': {'keras_history': ['a+b', 0, 0]}}]}
    """
    if isinstance(value, list):
        return [_rename_layers(v, old, new) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _rename_layers(v, old, new) for k, v in value.items()}
    if value.get("class_name") == "__keras_tensor__":
        history = out["config"].get("keras_history") if isinstance(out["config"], dict) else None
        if isinstance(history, list) and history and isinstance(history[0], str):
            out["config"]["keras_history"] = [_swap(history[0], old, new)] + history[1:]
        return out
    if _is_object(value) and isinstance(out["config"], dict) and \
            isinstance(out["config"].get("name"), str):
        out["config"]["name"] = _swap(out["config"]["name"], old, new)
    if _is_object(value) and isinstance(out.get("name"), str):  # a functional layer entry
        out["name"] = _swap(out["name"], old, new)
    for key in ("input_layers", "output_layers"):
        if key in out:
            out[key] = _rename_refs(out[key], old, new)
    return out


def _rename_refs(refs: Any, old: str, new: str) -> Any:
    if isinstance(refs, list):
        return [_rename_refs(r, old, new) for r in refs]
    return _swap(refs, old, new) if isinstance(refs, str) else refs


def _swap(name: str, old: str, new: str) -> str:
    if new == KERAS3_SLASH and KERAS3_SLASH in name:
        raise ConfigError(
            f"Expected layer names without U+2215 (DIVISION SLASH), which savepoint's '.keras' "
            f"files use for '/'. Received the layer name {name!r}. Fix: rename the layer (a "
            f"plain '/' is fine).")
    return name.replace(old, new)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def _out(value: Any) -> Any:
    if isinstance(value, list):
        return [_out(v) for v in value]
    if not isinstance(value, dict):
        return value
    if not _is_object(value):
        return {k: _out(v) for k, v in value.items()}
    module = value.get("module") or ""
    name = value["class_name"]
    inner = value["config"]
    if name in _TF_OPS and module.startswith("savepoint.") and "inbound_nodes" in value:
        from savepoint.layers.tf_op.keras3_ops import to_keras3_op  # x + 1 -> ops.numpy.Add
        return to_keras3_op(value)
    out = {k: _out(v) for k, v in value.items() if k not in ("config", "build_config")}
    if "build_config" in value:
        out["build_config"] = value["build_config"]
    if not module.startswith("savepoint."):  # a custom object keeps its names
        out["config"] = _out_layer_args(name, inner) if isinstance(inner, dict) else inner
        return out
    keras_module = next(k for prefix, k in _OUT_MODULES if module.startswith(prefix))
    out["registered_name"] = None
    if module.startswith("savepoint.models") and name in ("Model", "Functional"):
        keras_module, out["class_name"], out["registered_name"] = \
            "keras.src.models.functional", "Functional", "Functional"
    out["module"] = keras_module
    out["config"] = _out_layer_args(name, inner) if isinstance(inner, dict) else inner
    return out


def _policy(dtype: Any) -> Any:
    if isinstance(dtype, dict) and dtype.get("class_name") == "Policy":  # tf.keras 2's mixed
        dtype = (dtype.get("config") or {}).get("name")
    if isinstance(dtype, str):
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
                "registered_name": None}
    return dtype


def _out_layer_args(class_name: str, config: dict) -> dict:
    out = {k: _activation_out(v) if k.endswith("activation") else _out(v)
           for k, v in config.items() if k not in _DROP_OUT}
    if class_name == "InputLayer":
        return {"batch_shape": config.get("batch_input_shape"), "dtype": config.get("dtype"),
                "sparse": config.get("sparse", False), "ragged": config.get("ragged", False),
                "name": config.get("name"), "optional": False}
    if "dtype" in out and "trainable" in out:  # a layer: Keras 3 wants a dtype policy
        out["dtype"] = _policy(out["dtype"])
    if out.get("time_major") is False:  # tf.keras 2 recurrent layers only (issue 8.2)
        out.pop("time_major")
    elif out.get("time_major"):
        raise ConfigError(f"{class_name} '{config.get('name')}' has time_major=True, which "
                          f"Keras 3 does not support. Fix: use time_major=False (batch-major "
                          f"inputs), or save as .h5 or a model directory.")
    if class_name == "BatchNormalization" and isinstance(out.get("axis"), list) \
            and len(out["axis"]) == 1:
        out["axis"] = out["axis"][0]
    if class_name == "Lambda":
        for key in ("function_type", "module", "output_shape_type", "output_shape_module"):
            out.pop(key, None)
        out.update(_lambda_out(config))
    for key in ("input_layers", "output_layers"):
        if isinstance(out.get(key), list) and len(out[key]) == 1 and \
                isinstance(out[key][0], list):
            out[key] = out[key][0]
    return _layer_hook(class_name, "keras3_config_out", out)


def _layer_hook(class_name: str, hook: str, config: dict) -> dict:
    """A built-in layer's own Keras 3 renames (``LeakyReLU.keras3_config_out``), if it has any."""
    from savepoint.serialization import builtin_objects
    fn = getattr(builtin_objects("layers").get(class_name), hook, None)
    return fn(config) if fn is not None else config


def _lambda_out(config: dict) -> dict:
    """Keras 3 writes a lambda as ``{"class_name": "__lambda__", "config": {code, defaults,
    closure}}`` and a named function as a function reference, with no ``*_type`` keys."""
    out: dict[str, Any] = {}
    for key, kind_key, module_key in (("function", "function_type", "module"),
                                      ("output_shape", "output_shape_type",
                                       "output_shape_module")):
        kind, value = config.get(kind_key), config.get(key)
        if kind == "lambda":
            code, defaults, closure = (list(value) + [None, None])[:3]
            out[key] = {"class_name": "__lambda__", "config": {
                "code": code, "defaults": defaults, "closure": closure}}
        elif kind == "function":
            out[key] = {"module": config.get(module_key), "class_name": "function",
                        "config": value, "registered_name": value}
        elif key in config:
            out[key] = value
    return out


# ----- Keras 3 -> native --------------------------------------------------------------------
def from_keras3(config: dict, custom_objects: dict | None = None) -> tuple[dict, dict | None]:
    """A Keras 3 ``config.json`` -> ``(native model config, native compile config or None)``."""
    if not _is_object(config):
        raise FormatError(f"Expected config.json to describe a model with 'class_name' and "
                          f"'config'. Received keys {sorted(config)[:10]}. Fix: save the model "
                          f"again.")
    compile_config = config.get("compile_config")
    model = _in(_rename_layers({k: v for k, v in config.items() if k != "compile_config"},
                               KERAS3_SLASH, SLASH), custom_objects, top=True)
    if compile_config:
        compile_config = {"optimizer": _in(compile_config.get("optimizer"), custom_objects),
                          "loss": _in(compile_config.get("loss"), custom_objects),
                          "metrics": _in(compile_config.get("metrics"), custom_objects),
                          "weighted_metrics": _in(compile_config.get("weighted_metrics"),
                                                  custom_objects),
                          "loss_weights": compile_config.get("loss_weights")}
    return model, compile_config or None


def _in(value: Any, custom_objects: dict | None, top: bool = False) -> Any:
    if isinstance(value, list):
        return [_in(v, custom_objects) for v in value]
    if not isinstance(value, dict):
        return value
    if not _is_object(value):
        return {k: _in(v, custom_objects) for k, v in value.items()}
    name, module = value["class_name"], value.get("module") or ""
    if name == "function":
        return _function_in(value, custom_objects)
    if name == "__lambda__":
        raise ConfigError("A Keras 3 '__lambda__' function may only appear in a Lambda "
                          "layer's 'function' or 'output_shape'.")
    if module.startswith("keras.src.ops.") and "inbound_nodes" in value:
        from savepoint.layers.tf_op.keras3_ops import from_keras3_op  # ops.numpy.Add -> TF op
        return from_keras3_op(value)
    out = {k: v for k, v in value.items() if k not in ("config", "build_config")}
    if top and "build_config" in value:
        out["build_config"] = value["build_config"]
    inner = value["config"]
    if module == "keras" and name == "DTypePolicy":
        return inner.get("name") if isinstance(inner, dict) else inner
    if module.startswith("keras"):
        out["module"] = _native_module(module, name)
        out["class_name"] = "Model" if name == "Functional" else name
        out["registered_name"] = out["class_name"]
    if "inbound_nodes" in out:
        out["inbound_nodes"] = _nodes_in(out["inbound_nodes"], name)
    out["config"] = _in_layer_args(out["class_name"], inner, custom_objects) \
        if isinstance(inner, dict) else inner
    return out


def _native_module(module: str, name: str) -> str:
    if module in ("keras", "keras.src.models.functional") or module.startswith("keras.src.models"):
        return "savepoint.models"
    for prefix, native in sorted(_IN_MODULES.items(), key=lambda kv: -len(kv[0])):
        if module.startswith(prefix):
            return native
    if ".optimizers" in module:  # keras.src.backend.torch.optimizers.torch_adam ...
        return "savepoint.optimizers"
    return "savepoint." + module.split(".")[-1]


def _function_in(value: dict, custom_objects: dict | None) -> str:
    """A Keras 3 function reference -> its name; only built-ins, registered or passed custom
    functions are accepted, and the named module is never imported."""
    module, fname = value.get("module") or "", value.get("config")
    registered = value.get("registered_name")
    if not isinstance(fname, str):
        raise FormatError(f"Expected a function name in {value!r}. Fix: save the model again.")
    if fname == KERAS2_HARD_SIGMOID_NAME:  # savepoint's Keras 2 hard_sigmoid, written out
        return "hard_sigmoid"
    if module.startswith("keras."):
        return fname
    from savepoint.serialization import get_custom_objects, resolve_class
    for candidate in (registered, fname):
        if isinstance(candidate, str) and (candidate in (custom_objects or {}) or
                                           candidate in get_custom_objects()):
            return candidate
    try:
        resolve_class(fname, "functions", custom_objects)
        return fname
    except UnknownObjectError:
        pass
    error = UnknownObjectError(
        f"The model config names the function '{fname}' of module '{module}'. savepoint never "
        f"imports a module named in a file, so it refuses it. Fix: if you trust the file, pass "
        f"custom_objects={{'{fname}': {fname}}} to load_model.")
    error.object_name = fname
    raise error


# Keras 3 records a layer's ``training`` call default in every node of these classes (their
# ``call`` says ``training=False``/``True``), so such a recorded value says nothing about the
# user; any other recorded flag was passed explicitly (``base(x, training=False)``) and is kept.
_KERAS3_TRAINING_DEFAULTS = {
    **dict.fromkeys(("AdditiveAttention", "AlphaDropout", "Attention", "ConvLSTM1D", "ConvLSTM2D",
                     "ConvLSTM3D", "Dropout", "GRU", "GRUCell", "GaussianDropout",
                     "GaussianNoise", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell",
                     "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                     "SpectralNormalization", "StackedRNNCells"), False),
    **dict.fromkeys(("AugMix", "AutoContrast", "CenterCrop", "CutMix", "Equalization", "MixUp",
                     "Pipeline", "RandAugment", "RandomBrightness", "RandomColorDegeneration",
                     "RandomColorJitter", "RandomContrast", "RandomCrop",
                     "RandomElasticTransform", "RandomErasing", "RandomFlip",
                     "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
                     "RandomPerspective", "RandomPosterization", "RandomRotation",
                     "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation",
                     "RandomZoom", "Resizing", "Solarization"), True)}


def _nodes_in(nodes: Any, class_name: str) -> Any:
    """Drop ``mask=None`` call arguments, which Keras 3 records and savepoint layers lack, and
    a recorded ``training`` that is only the class's call default (``_KERAS3_TRAINING_DEFAULTS``;
    Dropout's ``False`` must not switch dropout off in ``fit``). An explicit flag stays: a
    ``base(x, training=False)`` keeps the base's BatchNormalization in inference mode, as the
    graph means in tf.keras 2 (Keras 3 itself lets ``fit``'s ``training=True`` override it).

    Example:
        >>> _nodes_in([{"args": [], "kwargs": {"training": False, "mask": None}}], "Dropout")
        [{'args': [], 'kwargs': {}}]
        >>> _nodes_in([{"args": [], "kwargs": {"training": False}}], "Sequential")
        [{'args': [], 'kwargs': {'training': False}}]
    """
    if not isinstance(nodes, list):
        return nodes
    default = _KERAS3_TRAINING_DEFAULTS.get(class_name)
    out = []
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("kwargs"), dict):
            kwargs = {k: v for k, v in node["kwargs"].items()
                      if not (k == "mask" and v is None) and
                      not (k == "training" and (v is default or not isinstance(v, bool)))}
            node = {**node, "kwargs": kwargs}
        out.append(node)
    return out


def _in_layer_args(class_name: str, config: dict, custom_objects: dict | None) -> dict:
    out = {}
    config = _layer_hook(class_name, "keras3_config_in", config)
    for key, value in config.items():
        if key in _KERAS3_ONLY:
            default = _KERAS3_ONLY[key]
            if default is Any or value == default:
                continue
            raise ConfigError(
                f"{class_name} in this Keras 3 file sets {key}={value!r}, which savepoint does "
                f"not support (it supports only {key}={default!r}). Fix: save the model "
                f"without it.")
        if key.endswith("activation"):
            value = _activation_in(value)
        out[key] = value if class_name == "Lambda" and key in ("function", "output_shape") \
            else _in(value, custom_objects)
    if class_name == "InputLayer" and "batch_shape" in out:
        out["batch_input_shape"] = out.pop("batch_shape")
    if class_name == "Lambda":
        out.update(_lambda_in(out))
    for key in ("input_layers", "output_layers"):
        if isinstance(out.get(key), list) and out[key] and isinstance(out[key][0], str):
            out[key] = [out[key]]
    return out


def _lambda_in(config: dict) -> dict:
    out: dict[str, Any] = {}
    for key, kind_key, module_key in (("function", "function_type", "module"),
                                      ("output_shape", "output_shape_type",
                                       "output_shape_module")):
        value = config.get(key)
        if isinstance(value, dict) and value.get("class_name") == "__lambda__":
            inner = value.get("config") or {}
            out[key] = [inner.get("code"), inner.get("defaults"), inner.get("closure")]
            out[kind_key], out[module_key] = "lambda", None
        elif isinstance(value, dict) and value.get("class_name") == "function":
            out[key] = value.get("config")
            out[kind_key], out[module_key] = "function", value.get("module")
        elif key == "output_shape":
            out[kind_key] = "raw"
    return out


__all__ = ["KERAS2_HARD_SIGMOID", "KERAS_VERSION", "check_metadata", "from_keras3", "metadata",
           "to_keras3"]
