"""The other runtimes the demo shows its files to (TensorFlow, the LiteRT interpreter): finding
the Python that has one, and running a check script in it that prints one JSON line.

Each runtime runs in its own process: it cannot share savepoint's (TensorFlow brings its own
protobuf and numpy). The Python is named by an environment variable, or is the checkout's
``.venvs/<name>`` that the test command creates.

Example:
    >>> runtime_python("SAVEPOINT_TF_PYTHON", "tf", {"SAVEPOINT_TF_PYTHON": "/nonexistent"})
    >>> runtime_python("X", "no-such-venv", {}) is None
    True
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Mapping

from savepoint.errors import SavepointError


def runtime_python(env_var: str, venv: str, environ: Mapping[str, str] = os.environ
                   ) -> str | None:
    """``environ[env_var]`` if that file exists, else the checkout's ``.venvs/<venv>`` Python,
    else None."""
    named = environ.get(env_var)
    if named:
        return named if os.path.exists(named) else None
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    candidate = os.path.join(checkout, ".venvs", venv, "bin", "python")
    return candidate if os.path.exists(candidate) else None


def run_check(python: str, script: str, args: list[str], expected: str) -> dict:
    """Run ``script`` with ``args`` in ``python``; return the JSON of its last output line.
    ``expected`` says what should have happened, for the error when it exits non-zero."""
    done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise SavepointError(
            f"Expected {expected} ({python}). Received exit status {done.returncode}: "
            f"{done.stderr.strip().splitlines()[-1:]}. Fix: report it with the files; "
            f"savepoint's own load_model is unaffected.")
    return json.loads(done.stdout.strip().splitlines()[-1])


__all__ = ["run_check", "runtime_python"]
