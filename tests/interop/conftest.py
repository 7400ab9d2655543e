"""Live interop tests run real TensorFlow in its own venv (.venvs/tf, tools/setup_interop_venvs.sh).

They are skipped only when SAVEPOINT_SKIP_INTEROP=1; otherwise a missing venv is a failure.
The plain functions live in ``venv_runners`` (import them from there, not from conftest).
"""

from __future__ import annotations

import pytest

from venv_runners import (K3_PYTHON, ROOT, TF_PYTHON, _interop_python,  # noqa: F401
                          _run_in_keras3, _run_in_tf, _run_script)


@pytest.fixture(scope="session")
def tf_python() -> str:
    """Path of the interop venv's python (TensorFlow + tf-keras)."""
    return _interop_python(TF_PYTHON, "TensorFlow")


@pytest.fixture()
def run_in_tf(tf_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script in the TF venv."""
    return lambda script, spec: _run_in_tf(tf_python, script, spec)


@pytest.fixture(scope="session")
def keras3_python() -> str:
    """Path of the Keras 3 interop venv's python (Keras 3 on the CPU build of torch)."""
    return _interop_python(K3_PYTHON, "Keras 3")


@pytest.fixture()
def run_in_keras3(keras3_python: str):
    """A function ``run(script, spec) -> stdout`` that runs a checker script with Keras 3."""
    return lambda script, spec: _run_in_keras3(keras3_python, script, spec)
