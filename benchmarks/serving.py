"""Benchmark: ``savepoint serve`` throughput at 16 concurrent clients vs an in-process ``predict``
loop on the same batches (issue 11 goal: >= 0.8x), with and without ``--enable_batching``.

The tutorial MLP (784 -> Dense 512 relu -> Dropout -> Dense 10) is saved as version 1 and served
by two server subprocesses (plain, and ``--enable_batching``), started once (start-up not
timed). Each round sends the same request batches (``--requests`` of ``--rows`` rows each, JSON
encoded beforehand) from 16 asyncio clients on keep-alive connections, and runs the in-process
loops on the same batches: ``model.predict(batch)`` (the goal's baseline) and, for context, a
bare ``model(batch)`` under ``torch.inference_mode`` (no predict machinery). Rounds alternate the
order; medians of the per-round ratios are printed. Every server answer is checked against
``model.predict``. Clients, servers and loops share the machine's cores.

    .venv/bin/python benchmarks/serving.py          # 800 requests of 1 row, 5 rounds, 1 thread
    .venv/bin/python benchmarks/serving.py --rows 8 --pairs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import savepoint as keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = 16
GOAL = 0.8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(base: str, extra: list[str], threads: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    proc = subprocess.Popen([sys.executable, "-m", "savepoint", "serve",
                             f"--rest_api_port={port}", "--rest_api_host=127.0.0.1",
                             "--model_name=mlp", f"--model_base_path={base}", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, port


async def _wait_ready(port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = await _one_shot(port, b"GET /v1/models/mlp HTTP/1.1\r\nHost: b\r\n\r\n")
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length"))
    return status, await reader.readexactly(length)


async def _one_shot(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    result = await _read_response(reader)
    writer.close()
    return result


def _request(body: bytes) -> bytes:
    return (b"POST /v1/models/mlp:predict HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


async def _drive(port: int, requests: list[bytes]) -> tuple[float, list[bytes]]:
    """Send every request from 16 keep-alive clients; (seconds, bodies in request order)."""
    answers: list[bytes] = [b""] * len(requests)
    next_index = iter(range(len(requests)))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in next_index:
            writer.write(requests[i])
            status, body = await _read_response(reader)
            if status != 200:
                raise RuntimeError(f"request {i}: {status} {body[:200]!r}")
            answers[i] = body
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return time.perf_counter() - t0, answers


def _predict_loop(model, batches: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for b in batches:
        model.predict(b, verbose=0)
    return time.perf_counter() - t0


def _call_loop(model, batches: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            model(torch.from_numpy(b), training=False).numpy()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--pairs", type=int, default=5, help="rounds")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads in the loops and the servers (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    workdir = tempfile.mkdtemp(prefix="savepoint_serving_bench_")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.save(os.path.join(workdir, "mlp", "1"))
    model = keras.models.load_model(os.path.join(workdir, "mlp", "1"))
    rng = np.random.default_rng(0)
    batches = [rng.random((args.rows, 784), dtype=np.float32) for _ in range(args.requests)]
    requests = [_request(json.dumps({"instances": b.tolist()}).encode()) for b in batches]
    want = np.concatenate([model.predict(b, verbose=0) for b in batches])

    servers = {"serve": _start(os.path.join(workdir, "mlp"), [], args.threads),
               "serve --enable_batching": _start(os.path.join(workdir, "mlp"),
                                                 ["--enable_batching"], args.threads)}
    times: dict[str, list[float]] = {k: [] for k in ["predict loop", "model() loop", *servers]}
    try:
        for _, port in servers.values():
            asyncio.run(_wait_ready(port))
        for _, port in servers.values():          # warm-up, and the answers are checked
            _, answers = asyncio.run(_drive(port, requests))
            got = np.concatenate([json.loads(a)["predictions"] for a in answers])
            np.testing.assert_allclose(got.astype(np.float32), want, rtol=1e-4, atol=1e-5)
        _predict_loop(model, batches[:20])
        for pair in range(args.pairs):
            order = list(times) if pair % 2 == 0 else list(reversed(times))
            for name in order:
                if name == "predict loop":
                    times[name].append(_predict_loop(model, batches))
                elif name == "model() loop":
                    times[name].append(_call_loop(model, batches))
                else:
                    times[name].append(asyncio.run(_drive(servers[name][1], requests))[0])
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)

    n = args.requests
    print(f"{n} requests of {args.rows} row(s), tutorial MLP, {CLIENTS} concurrent clients, "
          f"{args.pairs} rounds, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{args.threads or 'default'} torch thread(s), load {os.getloadavg()[0]:.1f}")
    for name, ts in times.items():
        print(f"  {name:26s} median {statistics.median(ts):6.2f} s  "
              f"{n / statistics.median(ts):7.0f} requests/s")
    for name in servers:
        ratio = statistics.median(p / s for p, s in zip(times["predict loop"], times[name]))
        bare = statistics.median(c / s for c, s in zip(times["model() loop"], times[name]))
        verdict = "met" if ratio >= GOAL else "NOT met"
        print(f"  {name}: throughput {ratio:.2f}x the predict loop (goal >= {GOAL}x: "
              f"{verdict}); {bare:.2f}x a bare model() loop")


if __name__ == "__main__":
    main()
