"""Convolution, pooling and reshaping layers against goldens made by REAL tf-keras and Keras 3.

Fixtures: tests/fixtures/goldens/conv/{conv,pooling,reshaping}.{npz,keras2.json,keras3.json},
made by tools/make_conv_goldens.py. Each case is rebuilt from tf-keras's own model config
(through the Keras 2 dialect) and from Keras 3's (through the Keras 3 dialect); outputs and the
gradients of ``sum(y * r)`` w.r.t. the input and every weight match tf-keras's; configs written
back out match what tf-keras and Keras 3 write.
"""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.saving.mapping.dialects.keras2 import model_from_keras2, model_to_keras2
from savepoint.saving.mapping.dialects.keras3 import from_keras3, to_keras3
from savepoint.saving.engine.model_config import model_from_config, model_to_config

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDENS = os.path.join(HERE, "..", "fixtures", "goldens", "conv")
FAMILIES = ("conv", "pooling", "reshaping")


def _load(family):
    with open(os.path.join(GOLDENS, f"{family}.keras2.json")) as f:
        keras2 = json.load(f)
    with open(os.path.join(GOLDENS, f"{family}.keras3.json")) as f:
        keras3 = json.load(f)
    return keras2, keras3, dict(np.load(os.path.join(GOLDENS, f"{family}.npz")))


DATA = {family: _load(family) for family in FAMILIES}
CASES = [(family, case) for family in FAMILIES for case in sorted(DATA[family][0])]
IDS = [case for _, case in CASES]


def _json(value):
    return json.loads(json.dumps(value))


def _f32(value):
    """Floats rounded to float32: tf-keras writes a regularizer's 0.01 as 0.009999999776..."""
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, list):
        return [_f32(v) for v in value]
    if isinstance(value, dict):
        return {k: _f32(v) for k, v in value.items()}
    return value


def _check_numbers(layer, arrays, case, rtol=1e-5, atol=1e-5):
    """Forward output and gradients of sum(y * r) match tf-keras's."""
    n_weights = len([k for k in arrays if k.startswith(f"{case}/w")])
    layer.set_weights([arrays[f"{case}/w{i}"] for i in range(n_weights)])
    x = torch.tensor(arrays[f"{case}/x"], requires_grad=True)
    mask = arrays.get(f"{case}/mask")
    y = layer(x) if mask is None else layer(x, mask=torch.from_numpy(mask))
    np.testing.assert_allclose(y.detach().numpy(), arrays[f"{case}/y"], rtol=rtol, atol=atol)
    (y * torch.from_numpy(arrays[f"{case}/r"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), arrays[f"{case}/dx"], rtol=rtol, atol=atol)
    for i, var in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(var.value.grad.numpy(), arrays[f"{case}/dw{i}"], rtol=rtol,
                                   atol=atol, err_msg=f"gradient of {var.name}")
    if f"{case}/losses" in arrays:  # kernel/bias and activity regularization of the call
        np.testing.assert_allclose(float(sum(v.detach() for v in layer.losses)),
                                   arrays[f"{case}/losses"], rtol=rtol)


@pytest.mark.parametrize("family,case", CASES, ids=IDS)
def test_matches_tf_keras_from_its_keras2_config(family, case):
    keras2, _, arrays = DATA[family]
    meta = keras2[case]
    model = model_from_config(model_from_keras2(meta["model_config"]))
    layer = model.layers[-1]
    assert type(layer).__name__ == meta["class_name"]
    assert [[w.name, list(w.shape)] for w in layer.weights] == \
        [[name.split("/")[-1].split(":")[0], shape] for name, shape in meta["weights"]]
    assert list(layer.compute_output_shape((None,) + tuple(meta["input_shape"]))[1:]) == \
        list(arrays[f"{case}/y"].shape[1:])
    _check_numbers(layer, arrays, case)
    # written back in the Keras 2 dialect, the layer's config is tf-keras's own
    ours = model_to_keras2(model_to_config(model))["config"]["layers"][-1]
    theirs = meta["model_config"]["config"]["layers"][-1]
    assert ours["class_name"] == theirs["class_name"]
    assert _f32(_json(ours["config"])) == _f32(_json(theirs["config"]))


@pytest.mark.parametrize("family,case", CASES, ids=IDS)
def test_layer_from_keras2_arguments(family, case):
    """The constructor takes tf-keras's arguments with its defaults (config equal to tf's)."""
    keras2, _, arrays = DATA[family]
    meta = keras2[case]
    layer = getattr(keras.layers, meta["class_name"])(**meta["kwargs"], name=meta["config"]["name"])
    layer.build((None,) + tuple(meta["input_shape"]))
    ours = model_to_keras2({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": type(layer).__name__, "config": layer.get_config(),
         "module": "savepoint.layers"}]}})["config"]["layers"][0]["config"]
    theirs = dict(meta["config"])
    for key in ("kernel_initializer", "depthwise_initializer", "pointwise_initializer",
                "bias_initializer"):  # default initializers: compare names only
        if key in theirs:
            assert ours[key]["class_name"] == theirs[key]["class_name"]
            ours.pop(key), theirs.pop(key)
    assert _f32(_json(ours)) == _f32(_json(theirs))
    _check_numbers(layer, arrays, case)


@pytest.mark.parametrize("family,case", CASES, ids=IDS)
def test_matches_from_keras3_config(family, case):
    keras2, keras3, arrays = DATA[family]
    meta = keras3[case]
    if "unsupported" in meta:  # Keras 3 refuses this configuration itself
        pytest.skip(meta["unsupported"])
    native, _ = from_keras3(meta["model_config"])
    model = model_from_config(native)
    layer = model.layers[-1]
    assert [list(w.shape) for w in layer.weights] == [shape for _, shape in meta["weights"]]
    _check_numbers(layer, arrays, case)
    # written back in the Keras 3 dialect: the keys and values Keras 3 wrote
    ours = to_keras3(model_to_config(model), None)["config"]["layers"][-1]
    theirs = meta["model_config"]["config"]["layers"][-1]
    assert ours["class_name"] == theirs["class_name"]
    assert sorted(ours["config"]) == sorted(theirs["config"])
    for key, value in theirs["config"].items():
        if not key.endswith("initializer"):
            assert _f32(_json(ours["config"][key])) == _f32(_json(value)), key
