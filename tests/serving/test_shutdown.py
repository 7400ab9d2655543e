"""Graceful shutdown: SIGTERM while requests are in flight lets every one of them finish with
its correct answer, then the server exits 0 and stops accepting connections."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import numpy as np
import pytest

import savepoint as keras
from savepoint.utils import set_random_seed
from serving_helpers import close, running_server, save_version

L = keras.layers


def _heavy() -> keras.Model:
    """Slow enough per request (a few hundred ms) to be caught in flight."""
    set_random_seed(3)
    return keras.Sequential([L.Dense(2048, activation="relu", input_shape=(256,)),
                             L.Dense(2048, activation="relu"), L.Dense(2048, activation="relu"),
                             L.Dense(4, name="out")])


@pytest.mark.parametrize("batching", [False, True], ids=["no_batching", "batching"])
def test_sigterm_finishes_in_flight_requests_and_exits_zero(tmp_path, batching):
    path = save_version(_heavy(), tmp_path / "m", 1)
    model = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(256, 256)).astype("float32")
    want = model.predict(x, verbose=0)
    args = ["--model_name=m", f"--model_base_path={tmp_path / 'm'}", "--rest_api_num_threads=2"]
    if batching:
        args += ["--enable_batching", "--max_batch_size=128"]
    with running_server(args, str(tmp_path / "log"), wait_for="m") as server:
        results: dict[int, tuple[int, float, object]] = {}

        def request(i: int) -> None:
            rows = slice(32 * i, 32 * i + 32)
            with httpx.Client(base_url=server.url, timeout=300) as c:
                r = c.post("/v1/models/m:predict", json={"instances": x[rows].tolist()})
                results[i] = (r.status_code, time.monotonic(),
                              r.json().get("predictions", r.text))

        threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        # SIGTERM as soon as the first answer is back: the others are still being computed
        deadline = time.monotonic() + 300
        while not results and time.monotonic() < deadline:
            time.sleep(0.005)
        sent_term = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(300)
        code = server.proc.wait(120)
        assert code == 0, server.log()
        assert sorted(results) == list(range(8)), server.log()
        for i, (status, _, predictions) in results.items():
            assert status == 200, predictions
            close(predictions, want[32 * i:32 * i + 32])
        assert any(done > sent_term for _, done, _ in results.values()), \
            "no request was still in flight at SIGTERM: the test proves nothing"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/v1/models/m", timeout=5)
    assert "savepoint serve: stopped" in server.log()
