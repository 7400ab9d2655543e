"""A bounded load test (16 clients x 50 requests) against the tutorial MLP, with and without
server-side batching: every answer is checked against ``model.predict``; throughput and p50/p99
latency are printed (no timing is asserted). Also the Batcher itself, in process."""

from __future__ import annotations

import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import SavepointError
from savepoint.serving.batcher import Batcher
from savepoint.serving.config import BatchingParameters
from savepoint.serving.servable import ServingError
from serving_helpers import build, close, inputs_for, running_server, save_version, tutorial_mlp

CLIENTS, REQUESTS = 16, 50


def _request_rows(client: int, i: int, pool: int) -> slice:
    rows = 1 + (client + i) % 4
    start = (client * REQUESTS + i * 3) % (pool - rows)
    return slice(start, start + rows)


@pytest.mark.parametrize("batching", [False, True], ids=["no_batching", "batching"])
def test_sixteen_clients_get_correct_answers(tmp_path, capsys, batching):
    path = save_version(build(tutorial_mlp), tmp_path / "mlp", 1)
    model = keras.models.load_model(path)
    x, = inputs_for(model, 256)
    want = model.predict(x, verbose=0)
    args = ["--model_name=mlp", f"--model_base_path={tmp_path / 'mlp'}"]
    if batching:
        params = tmp_path / "batching.config"
        params.write_text("max_batch_size { value: 64 }\nbatch_timeout_micros { value: 1000 }\n"
                          "num_batch_threads { value: 2 }\n")
        args += ["--enable_batching", f"--batching_parameters_file={params}"]
    latencies: list[float] = []
    lock = threading.Lock()
    with running_server(args, str(tmp_path / "log"), wait_for="mlp") as server:
        def client(c: int) -> int:
            done = 0
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for i in range(REQUESTS):
                    rows = _request_rows(c, i, len(x))
                    body = ({"instances": x[rows].tolist()} if i % 2 else
                            {"inputs": x[rows].tolist()})
                    t0 = time.perf_counter()
                    r = http.post("/v1/models/mlp:predict", json=body)
                    elapsed = time.perf_counter() - t0
                    assert r.status_code == 200, r.text
                    close(r.json()["predictions" if i % 2 else "outputs"], want[rows])
                    with lock:
                        latencies.append(elapsed)
                    done += 1
            return done
        t0 = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            counts = list(pool.map(client, range(CLIENTS)))
        wall = time.perf_counter() - t0
    assert counts == [REQUESTS] * CLIENTS and len(latencies) == CLIENTS * REQUESTS
    q = statistics.quantiles(latencies, n=100)
    with capsys.disabled():
        print(f"\n[serving load, {'batching' if batching else 'no batching'}] "
              f"{CLIENTS} clients x {REQUESTS} requests (1-4 rows, tutorial MLP): "
              f"{len(latencies) / wall:.0f} requests/s, p50 {q[49] * 1e3:.1f} ms, "
              f"p99 {q[98] * 1e3:.1f} ms (2-core machine shared with other jobs)")
    log = server.log()
    if batching:
        m = re.search(r"batching: (\d+) requests \((\d+) rows\) in (\d+) forward passes", log)
        assert m, log
        requests, rows, passes = map(int, m.groups())
        assert requests == CLIENTS * REQUESTS
        assert rows == sum(_request_rows(c, i, len(x)).stop - _request_rows(c, i, len(x)).start
                           for c in range(CLIENTS) for i in range(REQUESTS))
        assert passes < requests, "requests that arrived together were not batched"
    else:
        assert "batching:" not in log


class _Recorder:
    """A servable that doubles its input and records the batch sizes it ran."""

    def __init__(self, delay: float = 0.0):
        self.sizes: list[int] = []
        self.delay = delay

    def run(self, arrays: dict) -> dict:
        time.sleep(self.delay)
        self.sizes.append(len(arrays["x"]))
        return {"y": arrays["x"] * 2}


def test_batcher_concatenates_requests_and_splits_answers():
    batcher = Batcher(BatchingParameters(max_batch_size=10, batch_timeout_micros=200_000,
                                         num_batch_threads=1))
    servable = _Recorder()
    try:
        futures = [batcher.submit(servable, {"x": np.full((n, 2), n, np.float32)})
                   for n in (1, 2, 3, 4, 5)]
        results = [f.result(timeout=30)["y"] for f in futures]
    finally:
        batcher.close()
    for n, y in zip((1, 2, 3, 4, 5), results):
        assert y.shape == (n, 2) and (y == 2 * n).all()
    # 1+2+3+4 rows fill a batch of 10 at most; the 5 waits for the next one
    assert servable.sizes == [10, 5]
    assert (batcher.tasks_run, batcher.rows_run, batcher.batches_run) == (5, 15, 2)


def test_batcher_keeps_shapes_and_models_apart_and_reports_errors():
    batcher = Batcher(BatchingParameters(max_batch_size=100, batch_timeout_micros=100_000,
                                         num_batch_threads=2))
    a, b = _Recorder(), _Recorder()

    class Broken:
        def run(self, arrays: dict) -> dict:
            raise RuntimeError("forward pass failed")

    try:
        fa = batcher.submit(a, {"x": np.ones((2, 3), np.float32)})
        fb = batcher.submit(b, {"x": np.ones((1, 3), np.float32)})
        fc = batcher.submit(a, {"x": np.ones((1, 4), np.float32)})   # another row shape
        broken = [batcher.submit(Broken(), {"x": np.ones((1, 1))}) for _ in range(2)]
        assert fa.result(30)["y"].shape == (2, 3) and fc.result(30)["y"].shape == (1, 4)
        assert fb.result(30)["y"].shape == (1, 3)
        for f in broken:
            with pytest.raises(RuntimeError, match="forward pass failed"):
                f.result(30)
    finally:
        batcher.close()
    assert sorted(a.sizes) == [1, 2] and b.sizes == [1]


def test_batcher_refuses_work_beyond_its_queue():
    batcher = Batcher(BatchingParameters(max_batch_size=2, batch_timeout_micros=0,
                                         num_batch_threads=1, max_enqueued_batches=1))
    slow = _Recorder(delay=0.5)
    try:
        first = batcher.submit(slow, {"x": np.ones((2, 1))})
        time.sleep(0.2)   # the thread is busy with the first batch
        queued = batcher.submit(slow, {"x": np.ones((2, 1))})
        refused = batcher.submit(slow, {"x": np.ones((1, 1))})
        with pytest.raises(ServingError) as e:
            refused.result(30)
        assert e.value.status == 503 and isinstance(e.value, SavepointError)
        assert "The batch scheduling queue to which this task was submitted is full" in str(e.value)
        assert first.result(30)["y"].shape == (2, 1) and queued.result(30)["y"].shape == (2, 1)
    finally:
        batcher.close()
