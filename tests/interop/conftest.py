"""Live interop tests run real TensorFlow in its own venv (.venvs/tf, tools/setup_interop_venvs.sh).

They are skipped only when SAVEPOINT_SKIP_INTEROP=1; otherwise a missing venv is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TF_PYTHON = os.path.join(ROOT, ".venvs", "tf", "bin", "python")


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


@pytest.fixture(scope="session")
def tf_python() -> str:
    """Path of the interop venv's python (TensorFlow + tf-keras)."""
    return _interop_python(TF_PYTHON, "TensorFlow")


@pytest.fixture()
def run_in_tf(tf_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script in the TF venv."""
    return lambda script, spec: _run_in_tf(tf_python, script, spec)


def _run_in_tf(tf_python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` in the TF venv (legacy Keras, quiet logs)."""
    return _run_script(tf_python, "TensorFlow",
                       {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
                       script, spec, timeout)


K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")


@pytest.fixture(scope="session")
def keras3_python() -> str:
    """Path of the Keras 3 interop venv's python (Keras 3 on the CPU build of torch)."""
    return _interop_python(K3_PYTHON, "Keras 3")


@pytest.fixture()
def run_in_keras3(keras3_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script with Keras 3."""
    return lambda script, spec: _run_in_keras3(keras3_python, script, spec)


def _run_in_keras3(python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` in the Keras 3 venv (torch backend, CPU)."""
    return _run_script(python, "Keras 3", {"KERAS_BACKEND": "torch"}, script, spec, timeout)
