"""Temp-file hygiene: saves SIGKILLed at random moments leave temporaries behind, and the next
save to the same place removes them, in every format (``.keras``, ``.h5``, ``.weights.h5``, a
model directory and a TF checkpoint prefix). Without it every kill leaked a full-size copy.

A fork server (temp_hygiene_child.py) forks one saver per kill that saves the same path in a
loop; the test kills it after a random short delay, and after the kills runs one clean save
here and checks that no ``.tmp-`` name is left and the saved file loads.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import savepoint as keras
from savepoint.saving import storage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from temp_hygiene_child import make_model, save  # noqa: E402

KILLS = 6
TARGETS = {"keras": "m.keras", "h5": "m.h5", "weights_h5": "m.weights.h5",
           "directory": "my_model", "tf_prefix": "cp.ckpt"}


class SaverServer:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(HERE, "..", "..", "src"), os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "temp_hygiene_child.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        assert self._read() == "ready"

    def _read(self) -> str:
        line = self.proc.stdout.readline().strip()
        assert line, f"the saver server died (exit {self.proc.poll()})"
        return line

    def kill_saver(self, fmt: str, path: str, delay: float) -> None:
        """Start a saver of ``path``, SIGKILL it ``delay`` s after its first save finished."""
        self.proc.stdin.write(f"{fmt} {path}\n")
        self.proc.stdin.flush()
        line = self._read()
        assert line.startswith("saving "), line
        time.sleep(delay)
        os.kill(int(line.split()[1]), signal.SIGKILL)
        status = int(self._read().split()[1])
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server():
    s = SaverServer()
    yield s
    s.close()


def temp_names(directory: str) -> list[str]:
    found = []
    for parent, dirs, files in os.walk(directory):
        found += [os.path.relpath(os.path.join(parent, n), directory)
                  for n in dirs + files if ".tmp-" in n]
    return sorted(found)


def load_into_fresh_model(fmt: str, path: str, reference) -> None:
    if fmt in ("keras", "h5", "directory"):
        loaded = keras.models.load_model(path)
    else:
        loaded = make_model()
        loaded.load_weights(path)
    for got, want in zip(loaded.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fmt", sorted(TARGETS))
def test_killed_saves_leave_no_temporaries_after_the_next_save(server, tmp_path, fmt):
    path = str(tmp_path / TARGETS[fmt])
    rand = random.Random(sorted(TARGETS).index(fmt))
    for _ in range(KILLS):
        server.kill_saver(fmt, path, rand.uniform(0.0, 0.15))
    model = make_model()
    save(model, fmt, path)
    assert temp_names(str(tmp_path)) == []
    load_into_fresh_model(fmt, path, model)


def test_a_live_writers_temporary_and_other_targets_temporaries_stay(tmp_path):
    """Only temporaries of the target being saved whose writer is dead are removed."""
    live = tmp_path / f".m.h5.tmp-{os.getppid()}-abcdef"        # a running process
    other = tmp_path / ".other.h5.tmp-999999999-abcdef"         # another target's
    dead = tmp_path / ".m.h5.tmp-999999999-abcdef"              # this target's, dead writer
    for p in (live, other, dead):
        p.write_bytes(b"partial")
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.save(str(tmp_path / "m.h5"))
    assert sorted(os.listdir(tmp_path)) == sorted(["m.h5", live.name, other.name])


def test_a_model_directory_set_aside_by_a_killed_commit_is_put_back(tmp_path):
    """A kill between commit_directory's two renames leaves the old model only under its
    ``.aside`` name; the next save puts it back (then replaces it), never deletes it first."""
    path = str(tmp_path / "my_model")
    storage.makedirs(path)
    storage.write_bytes_atomically(os.path.join(path, "a"), b"old")
    aside = tmp_path / ".my_model.tmp-999999999-abcdef.aside"
    os.rename(path, aside)
    assert storage.remove_stale_temps_of(path) == [aside.name]
    assert storage.read_bytes(os.path.join(path, "a")) == b"old"
    assert temp_names(str(tmp_path)) == []
