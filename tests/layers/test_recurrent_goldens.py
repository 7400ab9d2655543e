"""Recurrent layers against goldens made by REAL tf-keras and Keras 3.

Fixtures: tests/fixtures/goldens/rnn/rnn.{npz,keras2.json,keras3.json}, made by
tools/make_rnn_goldens.py. Each case is rebuilt from tf-keras's own layer config (through the
Keras 2 dialect) and from Keras 3's model config; outputs (sequences, states, masked steps) and
the gradients of ``sum(y_i * r_i)`` w.r.t. the input and every weight match tf-keras's, and the
configs written back are tf-keras's.
"""

import json
import os

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.layers.symbolic import flatten
from savepoint.saving.mapping.dialects.keras2 import model_from_keras2, model_to_keras2
from savepoint.saving.mapping.dialects.keras3 import from_keras3, to_keras3
from savepoint.saving.engine.model_config import model_from_config, model_to_config

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDENS = os.path.join(HERE, "..", "fixtures", "goldens", "rnn")

with open(os.path.join(GOLDENS, "rnn.keras2.json")) as f:
    KERAS2 = json.load(f)
with open(os.path.join(GOLDENS, "rnn.keras3.json")) as f:
    KERAS3 = json.load(f)
ARRAYS = dict(np.load(os.path.join(GOLDENS, "rnn.npz")))
LAYER_CASES = sorted(c for c in KERAS2 if "spec" in KERAS2[c])
SEQ_CASES = sorted(c for c in KERAS2 if c.startswith("seq_"))
# Keras 3 keys savepoint leaves out of its configs when they hold Keras 3's default
# (Keras 3 always records Bidirectional's backward layer; savepoint only a custom one) and
# tf-keras's ``implementation`` that Keras 3's LSTM/GRU still accept
KERAS3_DEFAULTS_LEFT_OUT = {"seed", "zero_output_for_mask", "backward_layer", "implementation"}


def _json(value):
    return json.loads(json.dumps(value))


def _sequential(layers):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}


def layer_from_keras2(config):
    model = model_from_config(model_from_keras2(_sequential([config])))
    return model.layers[0]


def _call_kwargs(case):
    kwargs = {}
    if f"{case}/mask" in ARRAYS:
        kwargs["mask"] = torch.from_numpy(ARRAYS[f"{case}/mask"])
    states = sorted(k for k in ARRAYS if k.startswith(f"{case}/s") and k[len(case) + 2:].isdigit())
    if states:
        kwargs["initial_state"] = [torch.from_numpy(ARRAYS[f"{case}/s{i}"])
                                   for i in range(len(states))]
    return kwargs


def check_numbers(layer, case, rtol=1e-5, atol=1e-5):
    """Outputs and gradients of sum(y_i * r_i) match tf-keras's."""
    count = len([k for k in ARRAYS if k.startswith(f"{case}/w")])
    x = torch.tensor(ARRAYS[f"{case}/x"], requires_grad=True)
    kwargs = _call_kwargs(case)
    layer(x.detach(), **kwargs)  # build
    layer.set_weights([ARRAYS[f"{case}/w{i}"] for i in range(count)])
    ys = flatten(layer(x, **kwargs))
    outputs = len([k for k in ARRAYS if k.startswith(f"{case}/y")])
    assert len(ys) == outputs
    loss = 0
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y.detach().numpy(), ARRAYS[f"{case}/y{i}"], rtol=rtol,
                                   atol=atol, err_msg=f"output {i}")
        loss = loss + (y * torch.from_numpy(ARRAYS[f"{case}/r{i}"])).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), ARRAYS[f"{case}/dx"], rtol=rtol, atol=atol)
    for i, var in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(var.value.grad.numpy(), ARRAYS[f"{case}/dw{i}"], rtol=rtol,
                                   atol=atol, err_msg=f"gradient of {var.path}")


@pytest.mark.parametrize("case", LAYER_CASES)
def test_matches_tf_keras_from_its_keras2_config(case):
    meta = KERAS2[case]
    layer = layer_from_keras2(meta["config"])
    check_numbers(layer, case)
    assert [f"{w.path}:0" for w in layer.weights] == meta["weight_names"]
    # written back in the Keras 2 dialect, the config is tf-keras's own
    ours = model_to_keras2(model_to_config(_wrap(layer)))["config"]["layers"][0]
    assert ours["class_name"] == meta["config"]["class_name"]
    assert _strip(ours["config"]) == _strip(meta["config"]["config"])


def _wrap(layer):
    model = keras.Sequential(name="s")
    model._stack.append(layer)
    return model


def _strip(config):
    """Configs compared without module paths (tf-keras writes keras.layers for nested ones) and
    the nested ``build_config`` tf-keras records (it only replays a build; savepoint builds
    nested layers from the outer layer's input shape)."""
    if isinstance(config, dict):
        return {k: _strip(v) for k, v in config.items()
                if k not in ("module", "registered_name", "build_config")}
    if isinstance(config, list):
        return [_strip(v) for v in config]
    return config


@pytest.mark.parametrize("case", LAYER_CASES)
def test_matches_from_keras3_config(case):
    meta = KERAS3[case]
    native, _ = from_keras3(meta["model_config"])
    model = model_from_config(native)
    layer = model.layers[-1]
    assert [list(w.shape) for w in layer.weights] == meta["weight_shapes"]
    if "hard_sigmoid" in json.dumps(meta["model_config"]):
        # Keras 3's hard_sigmoid is relu6(x + 3) / 6, not tf-keras's clip(0.2 x + 0.5): Keras 3's
        # own numbers are checked in tests/saving/test_keras3_activation_dialect.py
        assert layer.cell.recurrent_activation is keras.activations.keras3_hard_sigmoid
    else:
        check_numbers(layer, case)
    ours = to_keras3(model_to_config(model), None)["config"]["layers"][-1]
    theirs = meta["model_config"]["config"]["layers"][-1]
    assert ours["class_name"] == theirs["class_name"]
    assert set(ours["config"]) ^ set(theirs["config"]) <= KERAS3_DEFAULTS_LEFT_OUT, \
        set(ours["config"]) ^ set(theirs["config"])


@pytest.mark.parametrize("case", SEQ_CASES)
def test_masked_sequential_matches_tf_keras(case):
    """Embedding(mask_zero=True) and Masking hand their masks to the recurrent layers."""
    meta = KERAS2[case]
    model = model_from_config(model_from_keras2(meta["model_config"]))
    count = len([k for k in ARRAYS if k.startswith(f"{case}/w")])
    model.set_weights([ARRAYS[f"{case}/w{i}"] for i in range(count)])
    assert [f"{w.path}:0" for w in model.weights] == meta["weight_names"]
    x = torch.from_numpy(ARRAYS[f"{case}/x"])
    y = model(x)
    np.testing.assert_allclose(y.detach().numpy(), ARRAYS[f"{case}/y0"], rtol=1e-5, atol=1e-5)
    (y * torch.from_numpy(ARRAYS[f"{case}/r0"])).sum().backward()
    for i, var in enumerate(model.trainable_weights):
        np.testing.assert_allclose(var.value.grad.numpy(), ARRAYS[f"{case}/dw{i}"], rtol=1e-5,
                                   atol=1e-5, err_msg=f"gradient of {var.path}")


def test_stateful_lstm_carries_and_resets_states_as_tf_keras():
    model = model_from_config(model_from_keras2(KERAS2["stateful"]["model_config"]))
    model.set_weights([ARRAYS[f"stateful/w{i}"] for i in range(3)])
    x1, x2 = ARRAYS["stateful/x1"], ARRAYS["stateful/x2"]
    for key, x in (("y1", x1), ("y2", x2)):
        np.testing.assert_allclose(model(x).detach().numpy(), ARRAYS[f"stateful/{key}"],
                                   rtol=1e-5, atol=1e-5)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model(x2).detach().numpy(), ARRAYS["stateful/y3"], rtol=1e-5,
                               atol=1e-5)
    model(x1)
    model.reset_states()  # the model resets every stateful layer
    np.testing.assert_allclose(model(x2).detach().numpy(), ARRAYS["stateful/y3"], rtol=1e-5,
                               atol=1e-5)
