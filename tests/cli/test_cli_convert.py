"""``savepoint convert``: every pair of formats savepoint writes (and a SavedModel tf.keras
wrote as a source), each result read back and compared with the original model: every weight
bit for bit, the predictions, and the optimizer state wherever both formats hold it. Then the
choice of target format, the errors, and one run as ``python -m savepoint``."""

import hashlib
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

import savepoint as keras
from conftest import MODELS, WEIGHTS, families, save_everywhere

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "saved_models")
ALL = {**WEIGHTS, **MODELS}
# the Keras 2 '.h5' weights need --to: a '.h5' name converts to a whole model by default
TO = {"w.h5": "h5_weights"}
NO_OPTIMIZER = {"h5_weights"}  # the formats that hold no optimizer state


def compiled(factory):
    model = factory()
    if isinstance(model.outputs, list) and len(model.outputs) == 2:
        model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    else:
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    return model


def reload(path, fmt, factory):
    """The save at ``path`` as a model, its optimizer state (if any) built."""
    if fmt in MODELS.values() or fmt == "tf_saved_model":
        model = keras.models.load_model(path)
    else:
        model = compiled(factory)
        model.load_weights(path)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_weights)
    return model


def holds_optimizer(run_cli, path):
    names = [v["name"] for v in run_cli("inspect", path, "--json").json()["variables"]]
    return any(n.split("/")[0] in ("optimizer", "optimizer_weights") for n in names)


def assert_same(original, converted, x, optimizer):
    assert len(converted.weights) == len(original.weights)
    if converted.name == original.name:  # a whole model keeps its names; a fresh one numbers
        assert [w.path for w in converted.weights] == [w.path for w in original.weights]
    for a, b in zip(original.weights, converted.weights):
        assert a.numpy().dtype == b.numpy().dtype, a.path
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    ours, theirs = original.predict(x, verbose=0), converted.predict(x, verbose=0)
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    if optimizer:
        ours = original.optimizer.variables
        theirs = converted.optimizer.variables
        assert len(theirs) == len(ours)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()),
                                          err_msg=a.name)


def dst_name(src, dst):
    stem, _, suffix = dst.partition(".")
    return f"{stem}_from_{src.replace('.', '_')}" + (f".{suffix}" if suffix else "")


@pytest.mark.parametrize("src,dst", [(a, b) for a in ALL for b in ALL if a != b])
def test_convert_every_pair_round_trips_bit_for_bit(saved, run_cli, tmp_path, src, dst):
    model, x, directory = saved
    target = str(tmp_path / dst_name(src, dst))
    argv = ["convert", os.path.join(directory, src), target, "--json"]
    if src in WEIGHTS:
        argv += ["--model", os.path.join(directory, "m.keras")]  # the architecture + optimizer
    if dst in TO:
        argv += ["--to", TO[dst]]
    result = run_cli(*argv)
    assert result.code == 0, result.err
    report = result.json()
    assert report["src_format"] == ALL[src] and report["dst_format"] == ALL[dst]
    both_hold = ALL[src] not in NO_OPTIMIZER and ALL[dst] not in NO_OPTIMIZER
    assert report["optimizer"] is both_hold
    if both_hold or ALL[dst] in WEIGHTS.values():
        # (a whole model keeps its compile config: a fresh optimizer's iteration 0 is saved)
        assert holds_optimizer(run_cli, target) is both_hold
    assert report["notes"] == ([] if both_hold or ALL[src] in NO_OPTIMIZER else
                               [f"the optimizer state of {os.path.join(directory, src)!r} was "
                                f"left out: the target format holds no optimizer state"])
    assert_same(model, reload(target, ALL[dst], families.sequential), x, both_hold)
    # and the converted file diffs as identical to the source
    if ALL[dst] not in NO_OPTIMIZER and ALL[src] not in NO_OPTIMIZER:
        same = run_cli("diff", os.path.join(directory, src), target, "--model",
                       os.path.join(directory, "m.keras"))
        assert same.code == 0, same.out + same.err


@pytest.fixture(scope="module")
def functional_saved(tmp_path_factory):
    model, x = families.trained(families.functional)
    return model, x, save_everywhere(model, str(tmp_path_factory.mktemp("functional")))


@pytest.mark.parametrize("src,dst", [(a, b) for a in ("my_model", "m.keras", "cp.ckpt",
                                                       "w.safetensors") for b in ALL if a != b])
def test_convert_functional_multi_input_model(functional_saved, run_cli, tmp_path, src, dst):
    """Two inputs, two outputs, Conv2D, BatchNorm (moving statistics), Embedding, LayerNorm."""
    model, x, directory = functional_saved
    target = str(tmp_path / dst_name(src, dst))
    argv = ["convert", os.path.join(directory, src), target]
    if src in WEIGHTS:
        argv += ["--model", os.path.join(directory, "my_model")]
    if dst in TO:
        argv += ["--to", TO[dst]]
    result = run_cli(*argv)
    assert result.code == 0, result.err
    both_hold = ALL[src] not in NO_OPTIMIZER and ALL[dst] not in NO_OPTIMIZER
    assert result.out.startswith(f"Converted {os.path.join(directory, src)} ({ALL[src]}) -> "
                                 f"{target} ({ALL[dst]}): ")
    assert_same(model, reload(target, ALL[dst], families.functional), x, both_hold)


def test_convert_weights_with_a_model_json(saved, run_cli, tmp_path):
    """A model JSON gives the architecture but no optimizer: the weights convert, the
    optimizer state is left out, and the output says so."""
    model, x, directory = saved
    src = os.path.join(directory, "cp.ckpt")
    for dst in ("w.safetensors", "m.keras", "my_model", "m.h5"):
        target = str(tmp_path / dst)
        with pytest.warns(UserWarning, match="were not used by the restored objects"):
            result = run_cli("convert", src, target, "--model",
                             os.path.join(directory, "model.json"))
        assert result.code == 0, result.err
        assert "optimizer state not included" in result.out
        assert (f"Note: the optimizer state of {src!r} was left out: the model given by --model "
                f"has no optimizer (a model JSON holds no compile config; pass a whole-model "
                f"save to keep it)") in result.out
        assert not holds_optimizer(run_cli, target)
        converted = reload(target, ALL[dst], families.sequential)
        for a, b in zip(model.weights, converted.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(model.predict(x, verbose=0),
                                      converted.predict(x, verbose=0))


def test_convert_savedmodel_written_by_tf_keras(run_cli, tmp_path):
    with tarfile.open(os.path.join(FIXTURES, "mlp.tar.gz")) as tar:
        tar.extractall(tmp_path, filter="data")
    expected = np.load(os.path.join(FIXTURES, "mlp.npz"))
    src = str(tmp_path / "mlp")
    original = reload(src, "tf_saved_model", None)
    for dst, fmt in ALL.items():
        target = str(tmp_path / f"out_{dst}")
        argv = ["convert", src, target] + (["--to", TO[dst]] if dst in TO else [])
        result = run_cli(*argv)
        assert result.code == 0, result.err
        assert f"(tf_saved_model) -> {target} ({fmt})" in result.out
        converted = reload(target, fmt, _mlp)
        digests = [hashlib.sha256(w.numpy().tobytes()).hexdigest() for w in converted.weights]
        assert digests == list(expected["weight_sha256"])  # TensorFlow's values, bit for bit
        assert_same(original, converted, expected["x"], fmt not in NO_OPTIMIZER)


def _mlp():
    return keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(784,)),
                             keras.layers.Dense(10)])


def test_convert_target_by_name(saved, run_cli, tmp_path):
    _, _, directory = saved
    src = os.path.join(directory, "m.keras")
    assert run_cli("convert", src, tmp_path / "ckpt-5", "--json").json()["dst_format"] == \
        "tf_checkpoint"
    assert run_cli("convert", src, tmp_path / "model.ckpt-1000", "--json").json()[
        "dst_format"] == "tf_checkpoint"
    assert run_cli("convert", src, tmp_path / "exported", "--json").json()["dst_format"] == \
        "model_directory"
    assert run_cli("convert", src, tmp_path / "weights", "--to", "tf", "--json"
                   ).json()["dst_format"] == "tf_checkpoint"
    assert run_cli("convert", src, tmp_path / "m2.h5", "--json").json()["dst_format"] == "h5"


def test_convert_errors(saved, run_cli, tmp_path):
    _, _, directory = saved
    weights = os.path.join(directory, "w.weights.h5")
    no_model = run_cli("convert", weights, tmp_path / "out.keras")
    assert no_model.code == 1
    assert no_model.err == (
        f"savepoint: error: Expected --model CONFIG_OR_MODEL_FILE to convert {weights!r}: it is "
        f"a weights-only '.weights.h5' (Keras 3) save and holds no architecture. Received no "
        f"--model. Fix: pass --model model.json (written from model.to_json()) or --model <a "
        f"whole-model save of the same architecture>.\n")
    assert not (tmp_path / "out.keras").exists()
    weights_as_model = run_cli("convert", weights, tmp_path / "out.keras", "--model",
                               os.path.join(directory, "w.safetensors"))
    assert weights_as_model.code == 1
    assert "Expected --model to be a model JSON file (from model.to_json()) or a whole-model " \
           "save" in weights_as_model.err
    assert "a weights-only '.safetensors' save, which holds no architecture" in \
        weights_as_model.err
    src = os.path.join(directory, "m.keras")
    (tmp_path / "taken.h5").write_bytes(b"x")
    taken = run_cli("convert", src, tmp_path / "taken.h5")
    assert taken.code == 1
    assert f"Expected {str(tmp_path / 'taken.h5')!r} not to exist." in taken.err
    assert "Fix: pass --overwrite (overwrite=True) or choose another path." in taken.err
    assert (tmp_path / "taken.h5").read_bytes() == b"x"
    replaced = run_cli("convert", src, tmp_path / "taken.h5", "--overwrite")
    assert replaced.code == 0, replaced.err
    same = run_cli("convert", src, src, "--overwrite")
    assert same.code == 1 and "Expected a destination other than the source." in same.err
    read_only = run_cli("convert", src, tmp_path / "sm", "--to", "tf_saved_model")
    assert read_only.code == 1
    assert "Received 'tf_saved_model' (TensorFlow SavedModel written by tf.keras), which it " \
           "only reads. Fix: write a model directory" in read_only.err
    unknown = run_cli("convert", src, tmp_path / "x", "--to", "onnx")
    assert unknown.code == 1
    assert "Expected a target format name, one of ['h5', 'h5_weights', 'keras', " \
           "'keras_weights_h5', 'model_directory', 'safetensors', 'tf_checkpoint']. Received " \
           "'onnx'." in unknown.err
    missing = run_cli("convert", tmp_path / "nope.keras", tmp_path / "out.h5")
    assert missing.code == 1 and "Received a path that does not exist" in missing.err


def test_convert_as_a_subprocess(saved, tmp_path):
    model, x, directory = saved
    target = tmp_path / "from_subprocess.safetensors"
    result = subprocess.run([sys.executable, "-m", "savepoint", "convert",
                             os.path.join(directory, "my_model"), str(target)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"Converted {os.path.join(directory, 'my_model')} (model_directory)"
                             f" -> {target} (safetensors): 14 tensors, optimizer state "
                             f"included\n")
    assert_same(model, reload(str(target), "safetensors", families.sequential), x, True)


def test_convert_help_has_examples(capsys):
    from savepoint import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["convert", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "savepoint convert training_1/cp.ckpt w.safetensors --model model.json" in out
    assert "--model CONFIG_OR_MODEL_FILE" in out and "--overwrite" in out and "--to FORMAT" in out
