"""Version folders while serving: a new version is picked up by the poller and swapped in
without a failed request, a half-written folder is not loaded (and is retried), and the
``--model_base_path`` flags and errors of the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

import savepoint as keras
from savepoint.cli import main
from serving_helpers import (ROOT, assert_error, build, close, inputs_for, regressor,
                             running_server, save_version)


def _status(server) -> dict:
    return {s["version"]: s["state"]
            for s in server.client.get("/v1/models/m").json()["model_version_status"]}


def _wait(predicate, what: str, server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{server.log()}")


def _data_file(path: str) -> str:
    variables = os.path.join(path, "variables")
    name, = [f for f in os.listdir(variables) if ".data-" in f]
    return os.path.join(variables, name)


def test_new_version_swaps_in_without_dropping_requests(tmp_path):
    base = tmp_path / "m"
    v1 = build(regressor, seed=1)
    save_version(v1, base, 1)
    v2_full = save_version(build(regressor, seed=2), tmp_path / "staging", 2)
    v1 = keras.models.load_model(str(base / "1"))
    v2 = keras.models.load_model(v2_full)
    x = np.array([[0.5, -1.0, 2.0]], np.float32)
    want = {1: v1.predict(x, verbose=0), 2: v2.predict(x, verbose=0)}
    assert not np.allclose(want[1], want[2])

    with running_server(["--model_name=m", f"--model_base_path={base}",
                         "--file_system_poll_wait_seconds=0.2"], str(tmp_path / "log"),
                        wait_for="m") as server:
        answers: list[int] = []
        failures: list[str] = []
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                while not stop.is_set():
                    r = c.post("/v1/models/m:predict", json={"instances": x.tolist()})
                    if r.status_code != 200:
                        failures.append(r.text)
                        continue
                    got = np.asarray(r.json()["predictions"], np.float32)
                    match = [v for v, w in want.items() if np.allclose(got, w, rtol=1e-5)]
                    answers.append(match[0] if match else -1)

        thread = threading.Thread(target=client)
        thread.start()
        try:
            _wait(lambda: len(answers) >= 5, "first answers", server)
            # a half-written version 2: the folder is there, its weights are cut short
            shutil.copytree(v2_full, base / "2")
            data = _data_file(str(base / "2"))
            with open(data, "r+b") as f:
                f.truncate(os.path.getsize(data) // 2)
            _wait(lambda: "version 2" in server.log() and "did not load" in server.log(),
                  "the failed load of version 2", server)
            time.sleep(0.6)   # more polls: still version 1, still answering
            assert _status(server) == {"1": "AVAILABLE"}
            assert set(answers) == {1} and not failures
            assert_error(server.client.post("/v1/models/m/versions/2:predict",
                                            json={"instances": x.tolist()}), 404,
                         "Servable not found for request: Specific(m, 2)")
            # the write completes: the next poll loads version 2 and swaps it in
            shutil.copyfile(_data_file(v2_full), data)
            _wait(lambda: _status(server) == {"1": "END", "2": "AVAILABLE"}, "the swap", server)
            seen = len(answers)
            _wait(lambda: len(answers) >= seen + 5, "answers after the swap", server)
        finally:
            stop.set()
            thread.join(60)
        assert not failures, failures[:3]
        assert -1 not in answers
        first_new = answers.index(2)
        assert set(answers[:first_new]) == {1} and set(answers[first_new:]) == {2}, answers
        assert answers.count(1) >= 5 and answers.count(2) >= 5
        r = server.client.post("/v1/models/m:predict", json={"inputs": x.tolist()})
        close(r.json()["outputs"], want[2])
        assert_error(server.client.post("/v1/models/m/versions/1:predict",
                                        json={"instances": x.tolist()}), 404,
                     "Servable not found for request: Specific(m, 1)")
        assert server.client.get("/v1/models/m/metadata").json()["model_spec"]["version"] == "2"


def test_a_base_path_without_versions_waits_for_one(tmp_path):
    base = tmp_path / "m"
    base.mkdir()
    (base / "not_a_version").mkdir()
    with running_server(["--model_name=m", f"--model_base_path={base}",
                         "--file_system_poll_wait_seconds=0.2"], str(tmp_path / "log")) as server:
        def answers() -> bool:
            try:
                return server.client.get("/v1/models/m").status_code == 404
            except httpx.TransportError:
                return False
        _wait(answers, "the server", server, timeout=180)
        assert "model 'm': no loadable version yet; waiting for one to appear" in server.log()
        assert_error(server.client.get("/v1/models/m"), 404,
                     "Could not find any versions of model m")
        assert_error(server.client.post("/v1/models/m:predict", json={"instances": [[1]]}), 404,
                     "Servable not found for request: Latest(m)")
        model = build(regressor)
        save_version(model, tmp_path / "staging", 5)
        os.rename(tmp_path / "staging" / "5", base / "5")   # how a trainer should publish
        server.wait_ready("m")
        assert _status(server) == {"5": "AVAILABLE"}


def test_command_line_errors_are_clear(tmp_path, capsys):
    # the real command: a missing base path stops it before it listens
    proc = subprocess.run([sys.executable, "-m", "savepoint", "serve",
                           f"--model_base_path={tmp_path / 'missing'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "savepoint: error: Expected the base path of model 'default' to be a directory" \
        in proc.stderr and "Fix: point --model_base_path" in proc.stderr
    # the rest in process (same entry point, without a torch start-up each)
    bad = tmp_path / "bad.config"
    bad.write_text('model_config_list {\n  config { name: "a" base_path: "/x" }\n  cfg {}\n}')
    cases = [(["--model_name=m"],
              "Expected --model_base_path (or --model_config_file). Received neither."),
             ([f"--model_config_file={bad}"],
              f"{bad}:3: expected one of the fields ['config'] in model_config_list. "
              f"Received 'cfg'."),
             ([f"--model_base_path={tmp_path}", "--max_batch_size=8"],
              "Expected --enable_batching with batching parameters")]
    for args, message in cases:
        assert main(["serve", *args]) == 1
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["serve", f"--model_base_path={tmp_path}", "--enable_batching=maybe"])
    assert e.value.code == 2
    assert "expected true or false, received 'maybe'" in capsys.readouterr().err
