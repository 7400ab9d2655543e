"""LIVE: tf-keras 2.21 restores models from checkpoints savepoint trained and wrote.

savepoint trains the tutorial model (ModelCheckpoint ``cp.ckpt`` and ``cp-{epoch:04d}.ckpt``),
the two-input functional model (Conv2D/BatchNormalization/Embedding/LayerNormalization) and saves
a ``savepoint.train.Checkpoint(model=..., optimizer=...)``; one TensorFlow process
(tf_check_models.py) then loads all of them and reports each check; the tests below read the
report. Architectures: keras_models.py, shared by both sides.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import savepoint
from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader

HERE = os.path.dirname(os.path.abspath(__file__))


def _zoo():
    import importlib.util
    spec = importlib.util.spec_from_file_location("sp_interop_keras_models",
                                                  os.path.join(HERE, "keras_models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


zoo = _zoo()


def _feed(xs):
    return xs if len(xs) > 1 else xs[0]


def _dump_ours(model, xs, out: str, **extra) -> str:
    """savepoint's view of ``model``: weights, optimizer variables, predictions, iterations."""
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": v.numpy() for i, v in enumerate(model.optimizer.variables)})
    arrays["y"] = model.predict(_feed(xs), verbose=0)
    arrays["iterations"] = np.int64(model.optimizer.iterations.numpy())
    np.savez(out, **arrays, **{k: np.int64(v) for k, v in extra.items()})
    return out


def _dump_tensors(prefix: str, out_npz: str, manifest: str) -> None:
    """Every tensor of the checkpoint as savepoint reads it (strings as uint8 bytes)."""
    arrays, entries = {}, []
    with BundleReader(prefix) as reader:
        dtypes = reader.get_variable_to_dtype_map()
        for i, key in enumerate(sorted(reader.keys())):
            value = reader.get_tensor(key)
            if dtypes[key] == "string":
                value = np.frombuffer(bytes(value), np.uint8)
            arrays[f"t{i}"] = np.asarray(value)
            entries.append({"key": key, "dtype": dtypes[key], "npz": f"t{i}"})
    np.savez(out_npz, **arrays)
    with open(manifest, "w") as f:
        json.dump(entries, f)


def _weights_entry(tmp, name: str, model_name: str, model, xs, prefix: str) -> dict:
    stem = str(tmp / name.replace("/", "_"))
    _dump_tensors(prefix, stem + "_tensors.npz", stem + "_manifest.json")
    np.savez(stem + "_inputs.npz", **{f"x{i}": x for i, x in enumerate(xs)})
    return {"name": name, "model": model_name, "prefix": prefix,
            "directory": os.path.dirname(prefix), "latest": prefix,
            "inputs_npz": stem + "_inputs.npz", "ours_npz": _dump_ours(model, xs, stem + ".npz"),
            "tensors_npz": stem + "_tensors.npz", "manifest": stem + "_manifest.json"}


def _tutorial_entries(tmp) -> list[dict]:
    savepoint.backend.clear_session()
    model = zoo.tutorial(savepoint)
    (x,), y = zoo.data("tutorial", 64, seed=3)
    first = tmp / "training_1"
    model.fit(x[:32], y[:32], epochs=1, validation_data=(x[32:], y[32:]), verbose=0,
              callbacks=[savepoint.callbacks.ModelCheckpoint(
                  filepath=str(first / "cp.ckpt"), save_weights_only=True, verbose=0)])
    entries = [_weights_entry(tmp, "tutorial/training_1", "tutorial", model, [x[32:40]],
                              str(first / "cp.ckpt"))]
    second = tmp / "training_2"
    model.save_weights(str(second / "cp-0000.ckpt"))
    model.fit(x[:32], y[:32], epochs=2, batch_size=16, verbose=0,
              callbacks=[savepoint.callbacks.ModelCheckpoint(
                  str(second / "cp-{epoch:04d}.ckpt"), save_weights_only=True, verbose=0)])
    latest = savepoint.train.latest_checkpoint(str(second))
    assert latest == str(second / "cp-0002.ckpt")
    entries.append(_weights_entry(tmp, "tutorial/training_2", "tutorial", model, [x[32:40]],
                                  latest))
    return entries


def _functional_entries(tmp) -> tuple[list[dict], list[dict]]:
    savepoint.backend.clear_session()
    model = zoo.functional(savepoint)
    xs, y = zoo.data("functional", 8, seed=1)
    model.fit(xs, y, batch_size=4, epochs=1, verbose=0)
    probe, _ = zoo.data("functional", 3, seed=2)
    model.save_weights(str(tmp / "functional" / "cp.ckpt"))
    weights = _weights_entry(tmp, "functional", "functional", model, probe,
                             str(tmp / "functional" / "cp.ckpt"))
    checkpoint = savepoint.train.Checkpoint(model=model, optimizer=model.optimizer)
    prefix = checkpoint.save(str(tmp / "tf_train_checkpoint" / "ckpt"))
    stem = str(tmp / "checkpoint")
    np.savez(stem + "_inputs.npz", **{f"x{i}": x for i, x in enumerate(probe)})
    ckpt = {"name": "train.Checkpoint", "model": "functional", "prefix": prefix,
            "directory": os.path.dirname(prefix), "inputs_npz": stem + "_inputs.npz",
            "ours_npz": _dump_ours(model, probe, stem + ".npz", save_counter=1)}
    return [weights], [ckpt]


@pytest.fixture(scope="module")
def tf_report(tf_python, tmp_path_factory) -> dict:
    """Everything savepoint writes, checked by one TensorFlow process; its report."""
    tmp = tmp_path_factory.mktemp("tf_keras_models")
    weights = _tutorial_entries(tmp)
    functional, checkpoints = _functional_entries(tmp)
    spec = {"report": str(tmp / "report.json"), "weights": weights + functional,
            "checkpoints": checkpoints}
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    proc = subprocess.run([tf_python, os.path.join(HERE, "tf_check_models.py"),
                           json.dumps(spec)], capture_output=True, text=True, env=env,
                          timeout=600)
    if proc.returncode != 0 or not os.path.exists(spec["report"]):
        pytest.fail(f"tf_check_models.py failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}", pytrace=False)
    with open(spec["report"]) as f:
        return json.load(f)


WEIGHTS_CHECKS = ["assert_existing_objects_matched", "weights bit-exact", "predictions",
                  "Adam state restored when the optimizer builds",
                  "assert_consumed after the optimizer built",
                  "one fit step continues the iterations",
                  "tf.train.load_checkpoint reads every tensor bit-exactly",
                  "tf.train.latest_checkpoint follows the state file"]


def _assert_checks(report: dict, tag: str, checks: list[str]) -> None:
    results = {c: report.get(f"{tag}: {c}", "not run") for c in checks}
    failed = {c: r for c, r in results.items() if r != "ok"}
    assert not failed, "\n".join(f"{tag}: {c}\n{r}" for c, r in failed.items())


def test_tf_keras_loads_the_tutorial_checkpoint_savepoint_trained(tf_report):
    _assert_checks(tf_report, "tutorial/training_1", WEIGHTS_CHECKS)


def test_tf_keras_follows_modelcheckpoint_epoch_files(tf_report):
    _assert_checks(tf_report, "tutorial/training_2", WEIGHTS_CHECKS)


def test_tf_keras_loads_the_functional_conv_bn_embedding_model(tf_report):
    _assert_checks(tf_report, "functional", WEIGHTS_CHECKS)


def test_tf_train_checkpoint_restores_a_savepoint_train_checkpoint(tf_report):
    _assert_checks(tf_report, "train.Checkpoint", [
        "tf.train.latest_checkpoint follows the state file", "assert_existing_objects_matched",
        "weights bit-exact", "predictions", "Adam state restored when the optimizer builds",
        "assert_consumed after the optimizer built", "save_counter restored"])
