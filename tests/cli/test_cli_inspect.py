"""``savepoint inspect``: the variables of every format savepoint reads (names, shapes, dtypes,
bytes, totals), one tensor's values bit for bit, a SavedModel's serving signature (ours and one
tf.keras wrote), JSON output, the errors, and one run as ``python -m savepoint``."""

import hashlib
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from conftest import MODELS, WEIGHTS

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "saved_models")
TF_KEY = "layer_with_weights-{}/{}/.ATTRIBUTES/VARIABLE_VALUE"


def kernel_name(fmt, model):
    """The stored name of the first Dense layer's kernel in each format's own naming."""
    layer = model.layers[0].name
    return {"tf_checkpoint": TF_KEY.format(0, "kernel"),
            "model_directory": TF_KEY.format(0, "kernel"),
            "h5_weights": f"{layer}/{layer}/kernel:0",
            "h5": f"model_weights/{layer}/{layer}/kernel:0",
            "keras_weights_h5": "layers/dense/vars/0", "keras": "layers/dense/vars/0",
            "safetensors": "layers/dense/vars/0"}[fmt]


# formats whose files hold the optimizer state, and how many optimizer tensors (Adam on 4
# weights: iteration + 8 slots; TF and Keras 3 add the learning rate)
OPTIMIZER_TENSORS = {"tf_checkpoint": 10, "model_directory": 10, "keras_weights_h5": 10,
                     "keras": 10, "safetensors": 10, "h5": 9, "h5_weights": 0}


@pytest.mark.parametrize("name,fmt", list(WEIGHTS.items()) + list(MODELS.items()))
def test_inspect_lists_every_variable_of_every_format(saved, run_cli, name, fmt):
    model, _, directory = saved
    result = run_cli("inspect", os.path.join(directory, name), "--json")
    assert result.code == 0, result.err
    found = result.json()
    assert found["format"] == fmt
    variables = found["variables"]
    names = [v["name"] for v in variables]
    assert names == sorted(names)
    # every model weight is there with its shape, dtype and size
    kernel = next(v for v in variables if v["name"] == kernel_name(fmt, model))
    assert kernel["shape"] == [5, 8] and kernel["dtype"] == "float32"
    assert kernel["bytes"] == 5 * 8 * 4
    numeric = [v for v in variables if v["dtype"] != "string"]
    weights = sorted(tuple(w.shape) for w in model.weights)
    optimizer = [v for v in numeric if v["name"].split("/")[0] in ("optimizer",
                                                                  "optimizer_weights")]
    assert len(optimizer) == OPTIMIZER_TENSORS[fmt]
    assert sorted(tuple(v["shape"]) for v in numeric if v not in optimizer) == weights
    for v in numeric:
        assert v["bytes"] == int(np.prod(v["shape"], dtype=np.int64)) * \
            np.dtype(v["dtype"]).itemsize
    assert found["total_tensors"] == len(variables)
    assert found["total_bytes"] == sum(v["bytes"] for v in variables)


@pytest.mark.parametrize("name,fmt", list(WEIGHTS.items()) + list(MODELS.items()))
def test_inspect_tensor_prints_the_stored_values(saved, run_cli, name, fmt):
    model, _, directory = saved
    path = os.path.join(directory, name)
    result = run_cli("inspect", path, "--tensor", kernel_name(fmt, model), "--json")
    assert result.code == 0, result.err
    value = result.json()
    expected = model.weights[0].numpy()  # the first Dense kernel
    assert value["shape"] == [5, 8] and value["dtype"] == "float32"
    # JSON floats round-trip float32 exactly
    np.testing.assert_array_equal(np.array(value["values"], np.float32), expected)
    text = run_cli("inspect", path, "--tensor", kernel_name(fmt, model))
    assert text.code == 0
    assert text.out == f"tensor_name:  {kernel_name(fmt, model)}\n{expected}\n"


def test_inspect_text_table_and_totals(saved, run_cli):
    _, _, directory = saved
    result = run_cli("inspect", os.path.join(directory, "cp.ckpt"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Format: tf_checkpoint (weights)"
    assert lines[1] == f"Path: {os.path.join(directory, 'cp.ckpt')}"
    assert lines[2].split() == ["name", "shape", "dtype", "bytes"]
    row = next(l for l in lines if l.startswith(TF_KEY.format(0, "kernel")))
    assert row.split() == [TF_KEY.format(0, "kernel"), "[5,", "8]", "float32", "160"]
    listed = run_cli("inspect", os.path.join(directory, "cp.ckpt"), "--json").json()
    assert lines[-1] == (f"Total: {listed['total_tensors']} tensors, "
                         f"{listed['total_bytes']:,} bytes")
    assert "Signature" not in result.out  # a checkpoint has none


def test_inspect_checkpoint_directory_reads_the_latest(saved, run_cli, tmp_path):
    model, _, _ = saved
    model.save_weights(str(tmp_path / "cp-0001.ckpt"))
    model.save_weights(str(tmp_path / "cp-0002.ckpt"))
    found = run_cli("inspect", tmp_path, "--json").json()
    assert found["format"] == "tf_checkpoint"
    assert found["source"] == str(tmp_path / "cp-0002.ckpt")


def test_inspect_model_directory_shows_its_serving_signature(saved, run_cli):
    model, _, directory = saved
    path = os.path.join(directory, "my_model")
    found = run_cli("inspect", path, "--json").json()
    assert found["source"] == os.path.join(path, "variables/variables")
    [sig] = found["signatures"]
    input_name = model.inputs[0].name if hasattr(model.inputs[0], "name") else None
    assert sig["name"] == "serving_default"
    assert sig["method"] == "tensorflow/serving/predict"
    [(key, spec)] = sig["inputs"].items()
    assert spec == {"dtype": "float32", "shape": [-1, 5]}
    assert input_name is None or key  # the input's name, whatever Keras called it
    assert list(sig["outputs"].values()) == [{"dtype": "float32", "shape": [-1, 3]}]
    text = run_cli("inspect", path).out
    assert "Signature 'serving_default' (method tensorflow/serving/predict):" in text
    assert f"    {key}: float32 [-1, 5]" in text


def test_inspect_savedmodel_written_by_tf_keras(run_cli, tmp_path):
    with tarfile.open(os.path.join(FIXTURES, "mlp.tar.gz")) as tar:
        tar.extractall(tmp_path, filter="data")
    expected = np.load(os.path.join(FIXTURES, "mlp.npz"))
    path = tmp_path / "mlp"
    found = run_cli("inspect", path, "--json").json()
    assert found["format"] == "tf_saved_model" and found["kind"] == "model"
    shapes = {v["name"]: v["shape"] for v in found["variables"]}
    assert shapes[TF_KEY.format(0, "kernel")] == [784, 16]
    assert shapes[TF_KEY.format(1, "bias")] == [10]
    assert found["signatures"] == [{
        "name": "serving_default", "method": "tensorflow/serving/predict",
        "inputs": {"dense_input": {"dtype": "float32", "shape": [-1, 784]}},
        "outputs": {"dense_1": {"dtype": "float32", "shape": [-1, 10]}}}]
    # the values are TensorFlow's, bit for bit
    value = run_cli("inspect", path, "--tensor", TF_KEY.format(0, "kernel"), "--json").json()
    kernel = np.array(value["values"], np.float32)
    assert hashlib.sha256(kernel.tobytes()).hexdigest() == expected["weight_sha256"][0]


def test_inspect_errors(saved, run_cli, tmp_path):
    _, _, directory = saved
    missing = run_cli("inspect", tmp_path / "nothing.ckpt")
    assert missing.code == 1 and missing.out == ""
    assert missing.err.startswith(f"savepoint: error: Expected a save at "
                                  f"'{tmp_path / 'nothing.ckpt'}'")
    assert "Received a path that does not exist. Fix: check the path." in missing.err
    unknown = run_cli("inspect", os.path.join(directory, "w.weights.h5"), "--tensor",
                      "layers/dense/vars/7")
    assert unknown.code == 1
    assert "Expected the name of a tensor stored in" in unknown.err
    assert "Received 'layers/dense/vars/7', which it does not hold (14 tensors" in unknown.err
    assert "Fix: pick a name `savepoint inspect" in unknown.err
    (tmp_path / "notes.txt").write_text("hello")
    other = run_cli("inspect", tmp_path / "notes.txt")
    assert other.code == 1
    assert "Received something no format recognizes" in other.err
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    damaged = run_cli("inspect", tmp_path / "bad.keras")
    assert damaged.code == 1 and "savepoint: error:" in damaged.err
    assert "bad.keras" in damaged.err


def test_inspect_help_has_examples(capsys):
    from savepoint import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["inspect", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "savepoint inspect training_1/cp.ckpt" in out
    assert "--tensor NAME" in out and "--json" in out


def test_inspect_as_a_subprocess(saved):
    _, _, directory = saved
    result = subprocess.run([sys.executable, "-m", "savepoint", "inspect",
                             os.path.join(directory, "m.keras")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Format: keras (model)\n")
    row = next(l for l in result.stdout.splitlines() if l.startswith("layers/dense/vars/0 "))
    assert row.split() == ["layers/dense/vars/0", "[5,", "8]", "float32", "160"]
    assert "Total: 14 tensors," in result.stdout


def test_every_registered_format_is_covered():
    """A format added to the registry must join these tests (and ``contents.open_save``)."""
    from savepoint.saving import registry
    assert {s.name for s in registry.formats()} == \
        set(WEIGHTS.values()) | set(MODELS.values()) | {"tf_saved_model", "torch_export"}


def test_inspect_verify_torch_export_directory(saved, run_cli, tmp_path):
    """``model.export(path, format="torch")``: its program's tensors and recorded inputs; it
    holds no Keras model, so convert and a cross-format diff refuse it by name."""
    model, _, directory = saved
    path = tmp_path / "exported_torch"
    model.export(str(path), format="torch")
    found = run_cli("inspect", path, "--json").json()
    assert found["format"] == "torch_export"
    assert found["source"] == str(path / "weights.safetensors")
    shapes = sorted(tuple(v["shape"]) for v in found["variables"])
    assert shapes == sorted(tuple(w.shape) for w in model.weights)
    [sig] = found["signatures"]
    assert sig["method"] == "torch.export"
    assert list(sig["inputs"].values()) == [{"dtype": "float32", "shape": [-1, 5]}]
    kernel = next(v["name"] for v in found["variables"] if v["shape"] == [5, 8])
    value = run_cli("inspect", path, "--tensor", kernel, "--json").json()
    np.testing.assert_array_equal(np.array(value["values"], np.float32),
                                  model.weights[0].numpy())
    checked = run_cli("verify", path, "--json").json()
    assert checked["ok"] is True
    assert sorted(os.path.basename(f["path"]) for f in checked["files"]) == [
        "export.json", "program.json", "weights.safetensors"]
    refused = run_cli("convert", path, tmp_path / "m.keras")
    assert refused.code == 1
    assert (f"Expected a save holding a Keras model to convert. Received {str(path)!r}, a "
            f"model.export(format='torch') directory (inference only): an inference program "
            f"without the model's layers. Fix: convert the save it was exported from.") in \
        refused.err
    across = run_cli("diff", path, os.path.join(directory, "m.keras"))
    assert across.code == 1 and "Expected a save holding a Keras model to compare." in across.err
