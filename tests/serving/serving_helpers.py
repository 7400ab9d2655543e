"""Starting ``python -m savepoint serve`` on a free loopback port and saving versioned models for
the serving tests; the model families come from tests/exports/export_families.py.

A plain module (not conftest.py), imported by the tests in this folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "exports"))
from export_families import (build, cnn, input_names, inputs_for, multi_io, rnn,  # noqa: E402
                             text, tutorial_mlp)

import savepoint as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable
STARTUP_S = 180   # importing torch on the loaded 2-core CI machine is slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def regressor() -> keras.Model:
    """One value per example: what :regress serves."""
    return keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(3,)),
                             keras.layers.Dense(1, name="value")])


def save_version(model: keras.Model, base: str, version: int) -> str:
    path = os.path.join(str(base), str(version))
    model.save(path)
    return path


class Server:
    """A running ``savepoint serve`` subprocess: ``url``, ``client``, ``log()``, ``stop()``."""

    def __init__(self, args: list[str], log_path: str, wait_for: str | None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "savepoint", "serve", f"--rest_api_port={self.port}",
             "--rest_api_host=127.0.0.1", *args],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.client = httpx.Client(base_url=self.url, timeout=120)
        if wait_for:
            self.wait_ready(wait_for)

    def wait_ready(self, model: str) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"savepoint serve exited with {self.proc.returncode}:\n"
                                     f"{self.log()}")
            try:
                if self.client.get(f"/v1/models/{model}").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"savepoint serve did not serve '{model}' within {STARTUP_S}s:\n"
                             f"{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status (killed after ``timeout``: a failure)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"savepoint serve ignored SIGTERM:\n{self.log()}")
        self.client.close()
        self._log.close()
        return self.proc.returncode


@contextlib.contextmanager
def running_server(args: list[str], log_path: str, wait_for: str | None = None):
    server = Server(args, log_path, wait_for)
    try:
        yield server
    finally:
        server.stop()


def assert_error(response: httpx.Response, status: int, *phrases: str) -> str:
    """The response is TF Serving's error body with ``status`` and every phrase."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    for phrase in phrases:
        assert phrase in body["error"], (phrase, body["error"])
    return body["error"]


def close(served: list, expected: np.ndarray) -> None:
    """Served JSON numbers equal ``model.predict`` (float32 through JSON is exact; the
    server's torch thread count may change the summation order, hence the tolerance)."""
    np.testing.assert_allclose(np.asarray(served, dtype=np.float32), expected, rtol=1e-5,
                               atol=1e-6)


__all__ = ["Server", "assert_error", "build", "close", "cnn", "free_port", "input_names",
           "inputs_for", "multi_io", "regressor", "rnn", "running_server", "save_version",
           "text", "tutorial_mlp"]
