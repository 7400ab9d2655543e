"""Running checker scripts in the interop venvs (.venvs/tf, .venvs/keras3): the plain functions.

A module of its own rather than ``conftest.py``: ``from conftest import ...`` resolves to
whichever ``conftest`` module pytest imported last (tests/layers has one too), so test modules
import these from here; ``conftest.py`` wraps them in fixtures.

Example:
    >>> os.path.basename(TF_PYTHON), os.path.basename(K3_PYTHON)
    ('python', 'python')
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TF_PYTHON = os.path.join(ROOT, ".venvs", "tf", "bin", "python")
K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")


def _interop_python(path: str, what: str) -> str:
    """``path`` if that venv exists; skip only with SAVEPOINT_SKIP_INTEROP=1, else fail loudly."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip(f"SAVEPOINT_SKIP_INTEROP=1: live {what} interop tests skipped")
    if not os.access(path, os.X_OK):
        pytest.fail(f"Expected the {what} interop venv at {path}. Received no such "
                    "interpreter. Fix: run `bash tools/setup_interop_venvs.sh` (or set "
                    "SAVEPOINT_SKIP_INTEROP=1 to skip live interop tests).", pytrace=False)
    return path


def _run_script(python: str, what: str, env: dict, script: str, spec: dict,
                timeout: int = 600) -> str:
    """Run ``script`` (a file beside this one) with ``spec`` as JSON; return its stdout.

    Fails the test with the script's output when it exits non-zero.
    """
    proc = subprocess.run([python, os.path.join(os.path.dirname(__file__), script),
                           json.dumps(spec)], capture_output=True, text=True,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH="", **env),
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{what} check {script} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    return proc.stdout


def _run_in_tf(tf_python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` in the TF venv (legacy Keras, quiet logs)."""
    return _run_script(tf_python, "TensorFlow",
                       {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
                       script, spec, timeout)


def _run_in_keras3(python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` in the Keras 3 venv (torch backend, CPU)."""
    return _run_script(python, "Keras 3", {"KERAS_BACKEND": "torch"}, script, spec, timeout)
