"""Golden model checkpoints written by real tf-keras 2.21 load into the same savepoint models.

Fixtures: tests/fixtures/tf/{tutorial,functional,conv_sequential,tutorial_full}, made by
tools/make_tf_fixtures.py from the architectures in tests/interop/keras_models.py. No TensorFlow
is needed here: everything TensorFlow computed is in the fixture files.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os

import numpy as np
import pytest
import torch

import savepoint
from savepoint.saving.formats.tf_checkpoint import object_graph as og
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(TESTS, "fixtures", "tf")
MODELS = ["tutorial", "functional", "conv_sequential"]
DETERMINISTIC = ["functional", "conv_sequential"]  # no Dropout: training output is defined


def _load_zoo():
    spec = importlib.util.spec_from_file_location(
        "sp_keras_models", os.path.join(TESTS, "interop", "keras_models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


zoo = _load_zoo()


def _fixture(name: str, filename: str) -> str:
    return os.path.join(FIXTURES, name, filename)


def _build(name: str):
    return zoo.BUILDERS[name](savepoint, **({"units": 8} if name == "tutorial" else {}))


def _inputs(name: str) -> tuple[list[np.ndarray], np.ndarray]:
    with np.load(_fixture(name, "inputs.npz")) as f:
        xs = [f[k] for k in sorted(k for k in f.files if k.startswith("x"))]
        return xs, f["y"]


def _feed(xs: list[np.ndarray]):
    return xs if len(xs) > 1 else xs[0]


def _tf_values(name: str) -> dict[str, np.ndarray]:
    """Every tensor of the fixture as TensorFlow read it, by checkpoint key."""
    with open(_fixture(name, "manifest.json")) as f:
        manifest = json.load(f)["tensors"]
    with np.load(_fixture(name, "expected.npz")) as f:
        return {t["key"]: f[t["npz"]] for t in manifest}


def _restored(name: str):
    model = _build(name)
    status = model.load_weights(_fixture(name, "cp.ckpt"))
    return model, status


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", MODELS)
def test_tf_weights_load_bit_exact_with_tf_predictions(name):
    model, status = _restored(name)
    status.assert_existing_objects_matched()
    with np.load(_fixture(name, "weights.npz")) as f:
        tf_weights = [f[f"w{i}"] for i in range(len(f.files))]
    ours = model.get_weights()
    assert len(ours) == len(tf_weights)
    for i, (w, want) in enumerate(zip(ours, tf_weights)):
        assert _same_bits(w, want), f"weight {i} ({model.weights[i].path}) differs from TF's"
    xs, tf_predictions = _inputs(name)
    np.testing.assert_allclose(model.predict(_feed(xs), verbose=0), tf_predictions,
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_adam_state_is_restored_when_the_optimizer_builds(name):
    model, status = _restored(name)
    assert not model.optimizer.built  # slots are deferred, as in tf.keras
    with pytest.raises(AssertionError, match="Deferred optimizer slots are applied"):
        status.assert_consumed()
    model.optimizer.build(model.trainable_weights)
    status.assert_consumed()
    with open(_fixture(name, "optimizer.json")) as f:
        tf_optimizer = json.load(f)
    values = _tf_values(name)
    variables = model.optimizer.variables
    assert [v.path for v in variables[1:]] == \
        [v["name"].removesuffix(":0") for v in tf_optimizer["variables"][1:]]
    assert int(model.optimizer.iterations.numpy()) == tf_optimizer["iterations"]
    for i, var in enumerate(variables[1:], start=1):
        want = values[f"optimizer/_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE"]
        assert _same_bits(var.numpy(), want), f"optimizer variable {var.path} differs"
    assert np.float32(model.optimizer.learning_rate) == np.float32(tf_optimizer["learning_rate"])


@pytest.mark.parametrize("name", MODELS)
def test_first_step_after_restore_continues_tf_adam(name):
    model, _ = _restored(name)
    values = _tf_values(name)
    trainable = model.trainable_weights
    before = [w.numpy().astype(np.float64) for w in trainable]
    grads = [np.cos(np.arange(w.size, dtype=np.float64)).reshape(w.shape) for w in before]
    model.optimizer.apply_gradients(
        [(torch.tensor(g, dtype=torch.float32), w) for g, w in zip(grads, trainable)])
    opt = model.optimizer
    t = int(values["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) + 1
    assert int(opt.iterations.numpy()) == t
    lr = float(values["optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"])
    for k, (w, g) in enumerate(zip(before, grads)):
        m0 = values[f"optimizer/_variables/{2 * k + 1}/.ATTRIBUTES/VARIABLE_VALUE"]
        v0 = values[f"optimizer/_variables/{2 * k + 2}/.ATTRIBUTES/VARIABLE_VALUE"]
        m = 0.9 * m0 + 0.1 * g
        v = 0.999 * v0 + 0.001 * g * g
        alpha = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        np.testing.assert_allclose(opt.slot(trainable[k], "m").numpy(), m, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(opt.slot(trainable[k], "v").numpy(), v, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(trainable[k].numpy(), w - alpha * m / (np.sqrt(v) + 1e-7),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_training_call_matches_tf_including_batchnorm_statistics(name):
    model, _ = _restored(name)
    xs, _ = _inputs(name)
    out = model(_feed([torch.from_numpy(x) for x in xs]), training=True)
    with np.load(_fixture(name, "training_call.npz")) as f:
        np.testing.assert_allclose(out.detach().numpy(), f["y"], rtol=0, atol=1e-5)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, f[f"w{i}"], rtol=1e-6, atol=1e-6,
                                       err_msg=model.weights[i].path)


@pytest.mark.parametrize("name", MODELS)
def test_our_object_graph_equals_tf_after_the_same_training(name, tmp_path):
    model = _build(name)
    xs, y = zoo.data(name, 8, seed=1)
    model.fit(_feed(xs), y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save_weights(str(tmp_path / "cp.ckpt"))
    with BundleReader(str(tmp_path / "cp.ckpt")) as reader:
        ours = og.to_dict(og.decode_object_graph(reader.get_tensor(og.OBJECT_GRAPH_KEY)))
        keys = sorted(reader.keys())
    with open(_fixture(name, "object_graph.json")) as f:
        assert ours == json.load(f)
    assert keys == sorted(_tf_values(name))


@pytest.mark.parametrize("run", ["first_model", "as_written"])
def test_tutorial_checkpoint_has_tf_sizes_and_object_graph(run, tmp_path):
    with open(os.path.join(FIXTURES, "tutorial_full", "reference.json")) as f:
        reference = json.load(f)[run]
    for _ in range(reference["models_before"]):
        zoo.tutorial(savepoint)
    model = zoo.tutorial(savepoint)
    (x,), y = zoo.data("tutorial", 64, seed=3)
    directory = tmp_path / "training_1"
    callback = savepoint.callbacks.ModelCheckpoint(
        filepath=str(directory / "cp.ckpt"), save_weights_only=True, verbose=0)
    model.fit(x[:32], y[:32], epochs=1, validation_data=(x[32:], y[32:]),
              callbacks=[callback], verbose=0)
    sizes = {f: os.path.getsize(directory / f) for f in sorted(os.listdir(directory))}
    with BundleReader(str(directory / "cp.ckpt")) as reader:
        graph = bytes(reader.get_tensor(og.OBJECT_GRAPH_KEY))
        shapes = reader.get_variable_to_shape_map()
    assert graph == base64.b64decode(reference["object_graph_base64"])
    assert {k: list(s) for k, s in shapes.items()} == \
        {k: t["shape"] for k, t in reference["tensors"].items()}
    assert (directory / "checkpoint").read_text() == reference["state_file"]
    assert sizes == reference["files"]
    if run == "first_model":  # the numbers DESIGN.md section 6 records
        assert sizes["cp.ckpt.data-00000-of-00001"] == 4_886_436
        assert sizes["cp.ckpt.index"] == 978
