"""examples/save_and_load.py: the tutorial runs offline; sections run once their API exists."""

import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

import savepoint

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(REPO, "examples", "save_and_load.py")
TITLES = ["Save checkpoints during training", "Checkpoint callback options",
          "Manually save weights", "Save the entire model", "HDF5 format"]
# "Restored model, accuracy" lines each section prints when it runs.
RESTORED_LINES = {"Save checkpoints during training": 1, "Checkpoint callback options": 1,
                  "Manually save weights": 1, "Save the entire model": 1, "HDF5 format": 1}


def test_example_runs_offline(tmp_path):
    env = dict(os.environ, SAVEPOINT_OFFLINE="1", SAVEPOINT_EXAMPLE_EPOCHS="1",
               OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, EXAMPLE], cwd=tmp_path, capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.splitlines()[0] == savepoint.__version__
    assert "Total params: 407050 (1.55 MB)" in out
    assert "using the embedded 10,000-digit sample" in result.stderr
    ran = []
    for title in TITLES:
        skipped = re.search(rf"^\[{title}\] skipped: not available in savepoint yet \(.+\)\.$",
                            out, re.M)
        started = re.search(rf"^\[{title}\]$", out, re.M)
        assert bool(skipped) != bool(started), title
        if started:
            ran.append(title)
    restored = re.findall(r"^Restored model, accuracy: [ \d.]{5}%$", out, re.M)
    assert len(restored) == sum(RESTORED_LINES[t] for t in ran)


@pytest.fixture
def example(tmp_path, monkeypatch):
    """The example's namespace, loaded (data, create_model, first model) without its sections."""
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="embedded 10,000-digit sample"):
        return runpy.run_path(EXAMPLE, run_name="example_under_test")


def test_example_data_is_the_tutorial_slice(example):
    assert example["train_images"].shape == (1000, 784)
    assert example["test_images"].shape == (1000, 784)
    assert example["train_images"].max() == 1.0 and example["train_images"].min() == 0.0
    assert example["test_labels"][:5].tolist() == [2, 0, 1, 9, 9]
    assert example["model"].count_params() == 407050


def test_missing_names_what_savepoint_lacks(example):
    missing = example["_missing"]
    assert missing("keras.layers.Dense", "savepoint.datasets.mnist.load_data") == []
    assert missing("keras.callbacks.NoSuchCallback", "savepoint.no_such_module.f") == [
        "keras.callbacks.NoSuchCallback", "savepoint.no_such_module.f"]


def test_epochs_env_overrides_the_tutorial_value(example, monkeypatch):
    assert example["_epochs"](10) == 10
    monkeypatch.setenv("SAVEPOINT_EXAMPLE_EPOCHS", "2")
    assert example["_epochs"](50) == 2


def test_a_section_runs_once_its_api_exists(example, monkeypatch, capsys):
    """Give Model an in-memory save_weights/load_weights: "Manually save weights" then runs."""
    store = {}
    monkeypatch.setattr(savepoint.Model, "save_weights",
                        lambda self, path: store.__setitem__(path, self.get_weights()),
                        raising=False)
    monkeypatch.setattr(savepoint.Model, "load_weights",
                        lambda self, path: self.set_weights(store[path]), raising=False)
    saved = example["model"]
    saved.fit(example["train_images"], example["train_labels"], epochs=1, verbose=0)
    _, expected = saved.evaluate(example["test_images"], example["test_labels"], verbose=0)
    # Only the weights API counts as present: sections needing anything else stay skipped.
    namespace = example["run_sections"].__globals__
    real_missing = namespace["_missing"]
    weights_api = {"keras.Model.save_weights", "keras.Model.load_weights"}
    monkeypatch.setitem(namespace, "_missing", lambda *names: (
        [n for n in names if n not in weights_api] or real_missing(*names)))

    example["run_sections"]()

    out = capsys.readouterr().out
    assert "[Manually save weights]\n" in out
    assert "[Save checkpoints during training] skipped" in out
    assert list(store) == ["./checkpoints/my_checkpoint"]
    assert "Restored model, accuracy: {:5.2f}%".format(100 * expected) in out
    restored = namespace["model"]
    assert restored is not saved
    for a, b in zip(restored.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
