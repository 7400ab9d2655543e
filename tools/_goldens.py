"""What the two-sided golden generators share (make_conv_goldens.py, make_rnn_goldens.py): run
one side in the interpreter it was started with, or run itself once in each interop venv, and
write JSON the same way. Plain Python only: it is imported by the scripts in .venvs/tf and
.venvs/keras3 too, from beside them (a script's folder is first on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_json(path: str, obj, **kwargs) -> None:
    """``obj`` as indented JSON with sorted keys (``kwargs`` to ``json.dump``, e.g. default)."""
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, **kwargs)


def run_sides(script: str, out: str, tf_keras_side, keras3_side) -> None:
    """``script tf_keras`` / ``script keras3`` run that side here; with no argument the script
    runs itself in .venvs/tf (tf_keras) and then in .venvs/keras3 (keras3)."""
    os.makedirs(out, exist_ok=True)
    if sys.argv[1:] == ["tf_keras"]:
        tf_keras_side()
    elif sys.argv[1:] == ["keras3"]:
        keras3_side()
    else:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        for venv, side in (("tf", "tf_keras"), ("keras3", "keras3")):
            subprocess.run([os.path.join(ROOT, ".venvs", venv, "bin", "python"),
                            os.path.abspath(script), side], check=True, env=env)
