"""``savepoint diff``: identical saves in one format and across formats (exit 0), changed
values with their largest absolute difference, missing variables, shape and dtype changes
(exit 1), ``--atol``, JSON, the errors, and one run as ``python -m savepoint``."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import savepoint as keras
from conftest import families

TF_KEY = "layer_with_weights-{}/{}/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture(scope="module")
def trained_more(saved, tmp_path_factory):
    """The saved model after one more training step, saved as ``cp.ckpt`` and ``m.keras``."""
    model, x, directory = saved
    other = keras.models.load_model(os.path.join(directory, "m.keras"))
    other.fit(x, families.targets_for(other), epochs=1, batch_size=8, verbose=0)
    out = tmp_path_factory.mktemp("more")
    other.save_weights(str(out / "cp.ckpt"))
    other.save(str(out / "m.keras"))
    return model, other, out


def test_diff_identical_in_one_format_and_across(saved, run_cli, tmp_path):
    model, _, directory = saved
    model.save_weights(str(tmp_path / "again.ckpt"))
    same = run_cli("diff", os.path.join(directory, "cp.ckpt"), tmp_path / "again.ckpt")
    assert same.code == 0, same.err
    assert same.out.splitlines() == [
        f"A: {os.path.join(directory, 'cp.ckpt')} (tf_checkpoint)",
        f"B: {tmp_path / 'again.ckpt'} (tf_checkpoint)",
        "Compared by stored names: 14 in both", "Identical"]
    # the model directory's bundle names its variables as the checkpoint does
    assert run_cli("diff", os.path.join(directory, "cp.ckpt"),
                   os.path.join(directory, "my_model")).code == 0
    # Keras 3 names: .weights.h5, .keras and .safetensors
    for a, b in (("w.weights.h5", "m.keras"), ("w.safetensors", "w.weights.h5")):
        report = run_cli("diff", os.path.join(directory, a), os.path.join(directory, b),
                         "--json").json()
        assert report["identical"] is True and report["compared"] == 14
        assert report["compared_as"] == "stored names"


def test_diff_across_naming_families(saved, run_cli):
    _, _, directory = saved
    ckpt, keras3 = os.path.join(directory, "cp.ckpt"), os.path.join(directory, "w.weights.h5")
    # a TF checkpoint against a .weights.h5: the whole model gives the mapping
    report = run_cli("diff", ckpt, keras3, "--model", os.path.join(directory, "m.keras"),
                     "--json")
    assert report.code == 0, report.err
    found = report.json()
    assert found["compared_as"] == "model variables" and found["identical"] is True
    assert found["compared"] == 4 + 9  # the weights, Adam's iteration and 8 slots
    assert found["notes"] == []
    # a whole model on one side is its own template
    found = run_cli("diff", os.path.join(directory, "m.keras"), ckpt, "--json").json()
    assert found["identical"] is True and found["compared"] == 13
    # the Keras 2 .h5 weights hold no optimizer state: only the weights are compared
    found = run_cli("diff", os.path.join(directory, "w.h5"), os.path.join(directory, "m.keras"),
                    "--json").json()
    assert found["identical"] is True and found["compared"] == 4
    assert found["notes"] == [f"optimizer state not compared: only "
                              f"{os.path.join(directory, 'm.keras')!r} holds it"]
    # a model JSON has no optimizer
    found = run_cli("diff", ckpt, keras3, "--model", os.path.join(directory, "model.json"),
                    "--json").json()
    assert found["identical"] is True and found["compared"] == 4
    assert found["notes"] == ["optimizer state not compared: the model given by --model has "
                              "no optimizer (pass a whole-model save to compare it)"]


def test_diff_same_later_state_in_two_formats(trained_more, run_cli):
    _, _, out = trained_more
    result = run_cli("diff", out / "cp.ckpt", out / "m.keras", "--json")
    assert result.code == 0, result.err
    assert result.json()["identical"] is True and result.json()["compared"] == 13


def test_diff_value_changes_with_max_abs_difference(saved, trained_more, run_cli):
    model, other, out = trained_more
    _, _, directory = saved
    result = run_cli("diff", os.path.join(directory, "cp.ckpt"), out / "cp.ckpt", "--json")
    assert result.code == 1
    found = result.json()
    assert found["identical"] is False
    differences = {d["name"]: d for d in found["differences"]}
    kernel = differences[TF_KEY.format(0, "kernel")]
    expected = float(np.max(np.abs(model.weights[0].numpy().astype(np.float64)
                                   - other.weights[0].numpy().astype(np.float64))))
    assert kernel["kind"] == "value" and kernel["max_abs_diff"] == expected
    assert kernel["a"] == kernel["b"] == "float32[5, 8]"
    steps = differences["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]
    assert steps["max_abs_diff"] == 1.0 and steps["a"] == "int64[]"
    # every weight and slot moved; the learning rate did not
    assert "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE" not in differences
    assert len(differences) == 4 + 9
    text = run_cli("diff", os.path.join(directory, "cp.ckpt"), out / "cp.ckpt")
    row = next(l for l in text.out.splitlines() if l.startswith(TF_KEY.format(0, "kernel")))
    assert row.split() == [TF_KEY.format(0, "kernel"), "values", "differ", "float32[5,", "8]",
                           "float32[5,", "8]", f"{expected:.6g}"]
    assert text.out.splitlines()[-1] == "13 variable(s) differ"
    # within a tolerance larger than every change: identical
    loose = run_cli("diff", os.path.join(directory, "cp.ckpt"), out / "cp.ckpt", "--atol", "10")
    assert loose.code == 0 and loose.out.splitlines()[-1] == "Identical (within atol=10)"
    tight = run_cli("diff", os.path.join(directory, "cp.ckpt"), out / "cp.ckpt", "--atol",
                    f"{expected / 2}", "--json").json()
    assert TF_KEY.format(0, "kernel") in {d["name"] for d in tight["differences"]}


def test_diff_missing_shape_and_dtype(run_cli, tmp_path):
    small = keras.Sequential([keras.layers.Dense(4, input_shape=(3,))])
    wide = keras.Sequential([keras.layers.Dense(6, input_shape=(3,))])
    deep = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), keras.layers.Dense(2)])
    for name, model in (("small", small), ("wide", wide), ("deep", deep)):
        model.save_weights(str(tmp_path / f"{name}.weights.h5"))
    shape = run_cli("diff", tmp_path / "small.weights.h5", tmp_path / "wide.weights.h5",
                    "--json").json()
    assert [(d["name"], d["kind"], d["a"], d["b"]) for d in shape["differences"]] == [
        ("layers/dense/vars/0", "shape", "float32[3, 4]", "float32[3, 6]"),
        ("layers/dense/vars/1", "shape", "float32[4]", "float32[6]")]
    missing = run_cli("diff", tmp_path / "deep.weights.h5", tmp_path / "small.weights.h5",
                      "--json").json()
    gone = [(d["name"], d["kind"], d["b"]) for d in missing["differences"]
            if d["kind"] == "missing_in_b"]
    assert gone == [("layers/dense_1/vars/0", "missing_in_b", "-"),
                    ("layers/dense_1/vars/1", "missing_in_b", "-")]
    text = run_cli("diff", tmp_path / "small.weights.h5", tmp_path / "deep.weights.h5")
    assert text.code == 1
    row = next(l for l in text.out.splitlines() if l.startswith("layers/dense_1/vars/1 "))
    assert row.split()[:4] == ["layers/dense_1/vars/1", "missing", "in", "A"]
    keras.train.Checkpoint(w=torch.zeros(2)).write(str(tmp_path / "f32"))
    keras.train.Checkpoint(w=torch.zeros(2, dtype=torch.float64)).write(str(tmp_path / "f64"))
    dtype = run_cli("diff", tmp_path / "f32", tmp_path / "f64", "--json").json()
    assert [(d["kind"], d["a"], d["b"]) for d in dtype["differences"]] == [
        ("dtype", "float32[2]", "float64[2]")]


def test_diff_errors(saved, run_cli, tmp_path):
    _, _, directory = saved
    ckpt, keras3 = os.path.join(directory, "cp.ckpt"), os.path.join(directory, "w.weights.h5")
    result = run_cli("diff", ckpt, keras3)
    assert result.code == 1
    assert result.err == (
        f"savepoint: error: Expected --model CONFIG_OR_MODEL_FILE to compare {ckpt!r} "
        f"(TensorFlow checkpoint) with {keras3!r} ('.weights.h5' (Keras 3)): their formats name "
        f"variables differently and neither holds the architecture that maps one naming onto "
        f"the other. Received no --model. Fix: pass --model model.json (from model.to_json()) "
        f"or a whole-model save.\n")
    missing = run_cli("diff", ckpt, tmp_path / "nope.ckpt")
    assert missing.code == 1 and "Received a path that does not exist" in missing.err
    with pytest.raises(SystemExit) as usage:
        run_cli("diff", ckpt, keras3, "--atol", "-1")
    assert usage.value.code == 2


def test_diff_help_has_examples(capsys):
    from savepoint import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["diff", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "savepoint diff training_1/cp.ckpt my_weights.weights.h5 --model my_model.keras" in out


def test_diff_as_a_subprocess(saved, trained_more):
    _, _, directory = saved
    _, _, out = trained_more
    same = subprocess.run([sys.executable, "-m", "savepoint", "diff",
                           os.path.join(directory, "cp.ckpt"), os.path.join(directory, "m.keras")],
                          capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[-1] == "Identical"
    changed = subprocess.run([sys.executable, "-m", "savepoint", "diff",
                              os.path.join(directory, "m.keras"), str(out / "m.keras")],
                             capture_output=True, text=True, timeout=300)
    assert changed.returncode == 1, changed.stderr
    assert changed.stdout.splitlines()[-1] == "13 variable(s) differ"


def test_diff_and_inspect_bfloat16(run_cli, tmp_path):
    """bfloat16 compares bit for bit and reports its difference in value, not in raw bits."""
    keras.train.Checkpoint(w=torch.tensor([1.5, -2.0], dtype=torch.bfloat16)).write(
        str(tmp_path / "a"))
    keras.train.Checkpoint(w=torch.tensor([1.5, -2.5], dtype=torch.bfloat16)).write(
        str(tmp_path / "b"))
    found = run_cli("diff", tmp_path / "a", tmp_path / "b", "--json").json()
    assert [(d["name"], d["a"], d["b"], d["max_abs_diff"]) for d in found["differences"]] == [
        ("w/.ATTRIBUTES/VARIABLE_VALUE", "bfloat16[2]", "bfloat16[2]", 0.5)]
    assert run_cli("diff", tmp_path / "a", tmp_path / "a").code == 0
    value = run_cli("inspect", tmp_path / "a", "--tensor", "w/.ATTRIBUTES/VARIABLE_VALUE",
                    "--json").json()
    assert value == {"name": "w/.ATTRIBUTES/VARIABLE_VALUE", "shape": [2], "dtype": "bfloat16",
                     "values": [1.5, -2.0]}
    listed = run_cli("inspect", tmp_path / "a", "--json").json()["variables"]
    assert {"name": "w/.ATTRIBUTES/VARIABLE_VALUE", "shape": [2], "dtype": "bfloat16",
            "bytes": 4} in listed
