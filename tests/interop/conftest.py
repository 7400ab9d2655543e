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


@pytest.fixture(scope="session")
def tf_python() -> str:
    """Path of the interop venv's python (TensorFlow + tf-keras)."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live TensorFlow interop tests skipped")
    if not os.access(TF_PYTHON, os.X_OK):
        pytest.fail(f"Expected the TensorFlow interop venv at {TF_PYTHON}. Received no such "
                    "interpreter. Fix: run `bash tools/setup_interop_venvs.sh` (or set "
                    "SAVEPOINT_SKIP_INTEROP=1 to skip live interop tests).", pytrace=False)
    return TF_PYTHON


@pytest.fixture()
def run_in_tf(tf_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script in the TF venv."""
    return lambda script, spec: _run_in_tf(tf_python, script, spec)


def _run_in_tf(tf_python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` (a file beside this one) in the TF venv with ``spec`` as JSON; return stdout.

    Fails the test with TensorFlow's output when the script exits non-zero.
    """
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    proc = subprocess.run([tf_python, os.path.join(os.path.dirname(__file__), script),
                           json.dumps(spec)], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"TensorFlow check {script} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    return proc.stdout


K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")


@pytest.fixture(scope="session")
def keras3_python() -> str:
    """Path of the Keras 3 interop venv's python (Keras 3 on the CPU build of torch)."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live Keras 3 interop tests skipped")
    if not os.access(K3_PYTHON, os.X_OK):
        pytest.fail(f"Expected the Keras 3 interop venv at {K3_PYTHON}. Received no such "
                    "interpreter. Fix: run `bash tools/setup_interop_venvs.sh` (or set "
                    "SAVEPOINT_SKIP_INTEROP=1 to skip live interop tests).", pytrace=False)
    return K3_PYTHON


@pytest.fixture()
def run_in_keras3(keras3_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script with Keras 3."""
    return lambda script, spec: _run_in_keras3(keras3_python, script, spec)


def _run_in_keras3(python: str, script: str, spec: dict, timeout: int = 600) -> str:
    """Run ``script`` (a file beside this one) in the Keras 3 venv (torch backend, CPU)."""
    env = dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    proc = subprocess.run([python, os.path.join(os.path.dirname(__file__), script),
                           json.dumps(spec)], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"Keras 3 check {script} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    return proc.stdout
