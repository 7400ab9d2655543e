"""The ``savepoint`` command: ``savepoint demo`` end to end, its options, and the demo's steps
(``savepoint.demo``)."""

import os
import re
import subprocess
import sys

import pytest

import savepoint
from savepoint import cli, demo


def offline_env(**extra):
    env = dict(os.environ, SAVEPOINT_OFFLINE="1", OMP_NUM_THREADS="1", **extra)
    env.pop("SAVEPOINT_HOME", None)
    return env


def test_demo_one_epoch_subprocess(tmp_path):
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "savepoint", "demo", "--epochs", "1", "--workdir", str(workdir)],
        capture_output=True, text=True, env=offline_env(), timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Working directory: {workdir}" in out
    assert "Total params: 407050 (1.55 MB)" in out
    assert "32/32 [====" in out and "val_sparse_categorical_accuracy" in out
    assert "using the embedded 10,000-digit sample" in result.stderr
    trained = re.search(r"^Trained model, accuracy: ([ \d.]{5})%$", out, re.M)
    untrained = re.search(r"^Untrained model, accuracy: ([ \d.]{5})%$", out, re.M)
    assert trained and untrained
    # One epoch on 1000 digits is far above chance; a fresh model is near chance (10%).
    assert float(trained.group(1)) > 60.0
    assert float(untrained.group(1)) < 30.0
    assert workdir.is_dir()
    # The later tutorial steps: checkpoints, whole models, and a killed-and-resumed run.
    assert sorted(os.listdir(workdir / "training_1")) == [
        "checkpoint", "cp.ckpt.data-00000-of-00001", "cp.ckpt.index"]
    assert "Epoch 5: saving model to training_2/cp-0005.ckpt" in out
    assert "latest checkpoint: training_2/cp-0005.ckpt" in out
    for path in ("saved_model/my_model", "my_model.h5", "my_model.keras"):
        assert re.search(rf"^Reloaded {re.escape(path)} model, accuracy: ", out, re.M)
    # TF itself opens the directory (the TF venv exists wherever the test command ran)
    ours = re.search(r"^Reloaded saved_model/my_model model, accuracy: ([ \d.]{5})%$", out, re.M)
    tf_line = re.search(r"^TensorFlow 2\.\d+\.\d+ opened saved_model/my_model: "
                        r"tf\.keras\.models\.load_model accuracy ([ \d.]{5})%, "
                        r"tf\.saved_model\.load serving_default output shape \(1000, 10\)$",
                        out, re.M)
    assert tf_line, out[-2000:]
    assert tf_line.group(1) == ours.group(1)
    # deployment: the exports, the torch program and the .tflite files in the LiteRT interpreter
    for line in ("model.export('my_model.tflite', format='litert'): ",
                 "model.export('my_model_int8.tflite', format='litert', "
                 "quantize='dynamic_int8'): ",
                 "model.export('tfjs_model', format='tfjs'): ",
                 "model.export('torch_model', format='torch'): "):
        assert line in out
    assert sorted(os.listdir(workdir / "tfjs_model"))[-1] == "model.json"
    program = re.search(r"^Reloaded torch_model \(torch\.export program\), accuracy: "
                        r"([ \d.]{5})%$", out, re.M)
    litert = re.search(r"^LiteRT interpreter, my_model\.tflite, accuracy: ([ \d.]{5})%$", out,
                       re.M)
    int8 = re.search(r"^LiteRT interpreter, my_model_int8\.tflite, accuracy: ([ \d.]{5})%$",
                     out, re.M)
    assert program and litert and int8, out[-2000:]
    assert program.group(1) == litert.group(1) == ours.group(1)
    assert abs(float(int8.group(1)) - float(ours.group(1))) <= 2.0
    assert "SIGKILL after 45 batches" in out
    assert "Killed-and-resumed weights equal the uninterrupted run's bit for bit: True" in out


def test_console_script_is_declared():
    from importlib.metadata import entry_points
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("savepoint") == "savepoint.cli:main"


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == savepoint.__version__
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_epochs_must_be_positive(value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--epochs", value])
    assert exc.value.code == 2
    assert f"argument --epochs: expected a positive integer, received '{value}'" in \
        capsys.readouterr().err


def test_steps_run_in_order_inside_the_workdir(tmp_path, capsys):
    seen = []

    def first(ctx):
        seen.append(("first", os.getcwd(), ctx.epochs, ctx.seed))
        ctx.results["first"] = 1.0

    def second(ctx):
        seen.append(("second", ctx.workdir, ctx.results["first"]))

    before = os.getcwd()
    ctx = demo.run_demo(epochs=3, workdir=str(tmp_path / "w"), seed=5,
                        steps=[demo.DemoStep("First", first), demo.DemoStep("Second", second)])
    assert os.getcwd() == before
    work = str(tmp_path / "w")
    assert seen == [("first", work, 3, 5), ("second", work, 1.0)]
    assert ctx.results == {"first": 1.0}
    out = capsys.readouterr().out
    assert out.index("== 1. First ==") < out.index("== 2. Second ==")


def test_default_workdir_is_temporary_and_removed(capsys):
    dirs = []
    demo.run_demo(epochs=1, steps=[demo.DemoStep("Where", lambda ctx: dirs.append(ctx.workdir))])
    assert os.path.basename(dirs[0]).startswith("savepoint_demo_")
    assert not os.path.exists(dirs[0])


def test_seed_makes_models_identical():
    import numpy as np
    outputs = []
    for _ in range(2):
        ctx = demo.run_demo(epochs=1, seed=7, steps=[
            demo.DemoStep("Model", lambda c: setattr(c, "model", demo.create_model()))])
        outputs.append(ctx.model.get_weights())
    assert len(outputs[0]) == 4
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)
    other = demo.run_demo(epochs=1, seed=8, steps=[
        demo.DemoStep("Model", lambda c: setattr(c, "model", demo.create_model()))])
    assert not np.array_equal(other.model.get_weights()[0], outputs[0][0])


def test_create_model_matches_the_tutorial():
    model = demo.create_model()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.count_params() == 784 * 512 + 512 + 512 * 10 + 10
    assert model.layers[0].get_config()["activation"] == "relu"
    assert model.layers[1].get_config()["rate"] == 0.2
    assert model.loss.get_config()["from_logits"] is True


def test_evaluate_and_report_prints_the_tutorial_line(capsys):
    import numpy as np
    ctx = demo.DemoContext(epochs=1, workdir=".", seed=0)
    ctx.test_images = np.zeros((4, 784))
    ctx.test_labels = np.array([0, 0, 1, 0])

    class Fixed:
        def evaluate(self, x, y, verbose):
            assert verbose == 2 and x.shape == (4, 784)
            return 0.5, 0.75

    assert demo.evaluate_and_report(ctx, Fixed(), "Restored") == 0.75
    assert capsys.readouterr().out == "Restored model, accuracy: 75.00%\n"
    assert ctx.results == {"restored": 0.75}


def test_tf_check_without_tensorflow_says_how_to_enable_it(capsys, monkeypatch):
    from savepoint.demo.tf_check import check_with_tensorflow, tf_python
    monkeypatch.setenv("SAVEPOINT_TF_PYTHON", "/nonexistent/python")
    assert tf_python() is None
    assert check_with_tensorflow("m", [[0.0]], [0], tf_python()) is None
    assert "TensorFlow check skipped: set SAVEPOINT_TF_PYTHON" in capsys.readouterr().out


def test_demo_never_imports_the_cli():
    # the CLI runs the demo; importing the demo alone must not load the CLI
    code = "import sys, savepoint.demo; print('savepoint.cli' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=offline_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_runtime_check_that_fails_says_what_was_expected():
    from savepoint.demo.runtimes import run_check, runtime_python
    assert run_check(sys.executable, "print('noise'); print('{\"ok\": 1}')", [], "x") == {"ok": 1}
    with pytest.raises(savepoint.SavepointError) as exc:
        run_check(sys.executable, "raise SystemExit('broken runtime')", [],
                  "the LiteRT interpreter to run ['m.tflite']")
    message = str(exc.value)
    assert message.startswith(f"Expected the LiteRT interpreter to run ['m.tflite'] "
                              f"({sys.executable}). Received exit status 1: ")
    assert "broken runtime" in message and "Fix: report it with the files" in message
    assert runtime_python("SP_TEST_PY", "tf", {"SP_TEST_PY": sys.executable}) == sys.executable
    assert runtime_python("SP_TEST_PY", "tf", {"SP_TEST_PY": "/nonexistent/python"}) is None
