"""Benchmark: how long checkpointing stalls training, async vs sync (issue 5, "Speed").

1. The tutorial fit (embedded MNIST sample, 1000 samples, batch 32, validation each epoch,
   ``ModelCheckpoint("training_1/cp.ckpt", save_weights_only=True)`` every epoch) with async
   saves vs the same fit with no checkpoint (goal <= 1.03x); the synchronous-checkpoint ratio is
   printed beside it.
2. A ~400 MB model + Adam state: the time training is blocked by one async save (the snapshot)
   vs a synchronous save of the same state (goal <= 0.1x) and vs a plain ``Tensor.copy_`` of
   every tensor into preallocated buffers (goal <= 1.5x).

Runs are interleaved (each pair runs every variant once, in rotating order); medians of the
per-pair ratios are printed. The tutorial runs once with torch's default thread count and once
with ``torch.set_num_threads(1)`` (``--threads 0,1``); on 2 cores the second leaves the
background writer a core of its own.

    .venv/bin/python benchmarks/checkpoint_stall.py --epochs 50 --pairs 5 --size-mb 400
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch

import savepoint as keras
from savepoint.saving.engine import async_saver
def tutorial_data():
    os.environ.setdefault("SAVEPOINT_OFFLINE", "1")  # the embedded sample, no download
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x, y), (vx, vy) = keras.datasets.mnist.load_data()
    x = (x[:1000].reshape(-1, 784) / 255.0).astype("float32")
    vx = (vx[:1000].reshape(-1, 784) / 255.0).astype("float32")
    return x, y[:1000], vx, vy[:1000]


def tutorial_fit(data, epochs: int, mode: str, directory: str) -> float:
    """One tutorial training run; ``mode`` is "none", "async" or "sync". Returns seconds, fit
    included until it returns (it returns only once every async save is committed)."""
    x, y, vx, vy = data
    model = keras.Sequential([keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    callbacks = []
    if mode != "none":
        callbacks.append(keras.callbacks.ModelCheckpoint(
            os.path.join(directory, mode, "cp.ckpt"), save_weights_only=True,
            save_async=mode == "async"))
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(vx, vy),
              callbacks=callbacks)
    return time.perf_counter() - start


def bench_tutorial(epochs: int, pairs: int, directory: str) -> None:
    data = tutorial_data()
    tutorial_fit(data, 2, "async", directory)  # warm-up (imports, allocator, page cache)
    modes = ["none", "async", "sync"]
    times: dict[str, list[float]] = {m: [] for m in modes}
    for i in range(pairs):
        for mode in modes[i % 3:] + modes[:i % 3]:
            times[mode].append(tutorial_fit(data, epochs, mode, directory))
    async_r = [a / n for a, n in zip(times["async"], times["none"])]
    sync_r = [s / n for s, n in zip(times["sync"], times["none"])]
    print(f"[1] tutorial fit, {epochs} epochs, checkpoint every epoch, {torch.get_num_threads()} "
          f"torch thread(s) ({pairs} interleaved runs)")
    print(f"    no checkpoint   median {statistics.median(times['none']):.3f} s")
    print(f"    async           median {statistics.median(times['async']):.3f} s   ratio "
          f"{statistics.median(async_r):.3f}x  (goal <= 1.03x)   all: "
          f"{', '.join(f'{r:.3f}' for r in async_r)}")
    print(f"    sync            median {statistics.median(times['sync']):.3f} s   ratio "
          f"{statistics.median(sync_r):.3f}x  (for comparison)")


def big_model(size_mb: int):
    """Dense layers of width w, with Adam's slots built: weights + m + v ~ size_mb MB."""
    width = 4096
    per_layer = 3 * 4 * width * width  # kernel + 2 slots, float32
    layers = max(1, round(size_mb * 2**20 / per_layer))
    if layers == 1:
        width = int((size_mb * 2**20 / 12) ** 0.5)
    model = keras.Sequential([keras.layers.Dense(width, input_shape=(width,))] +
                             [keras.layers.Dense(width) for _ in range(layers - 1)])
    model.compile("adam", "mse")
    model.train_on_batch(np.zeros((2, width), "float32"), np.zeros((2, width), "float32"))
    return model


def state_tensors(model) -> list[torch.Tensor]:
    return [v.value for v in model.weights] + [v.value for v in model.optimizer.variables]


def bench_big_state(size_mb: int, pairs: int, directory: str) -> None:
    model = big_model(size_mb)
    tensors = state_tensors(model)
    nbytes = sum(t.numel() * t.element_size() for t in tensors)
    buffers = [torch.empty(t.shape, dtype=t.dtype) for t in tensors]
    prefix = os.path.join(directory, "big", "ckpt")
    saver = async_saver.saver_for(model)

    def memcpy() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            for buf, t in zip(buffers, tensors):
                buf.copy_(t)
        return time.perf_counter() - start

    def np_memcpy() -> float:  # one thread, as the snapshot copies CPU tensors
        start = time.perf_counter()
        for buf, t in zip(buffers, tensors):
            np.copyto(buf.numpy(), t.detach().numpy())
        return time.perf_counter() - start

    def blocked_async() -> float:
        start = time.perf_counter()
        model.save_weights(prefix + "-async", save_async=True)
        blocked = time.perf_counter() - start
        saver.wait()  # not counted: training would go on meanwhile
        return blocked

    def sync() -> float:
        start = time.perf_counter()
        model.save_weights(prefix + "-sync")
        return time.perf_counter() - start

    memcpy(), blocked_async(), sync()  # warm-up: buffers allocated and touched once
    runs = {"memcpy": memcpy, "np_memcpy": np_memcpy, "async": blocked_async, "sync": sync}
    names = list(runs)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(pairs):
        for name in names[i % 4:] + names[:i % 4]:
            times[name].append(runs[name]())
    vs_sync = [a / s for a, s in zip(times["async"], times["sync"])]
    vs_copy = [a / c for a, c in zip(times["async"], times["memcpy"])]
    vs_np = [a / c for a, c in zip(times["async"], times["np_memcpy"])]
    print(f"[2] {nbytes / 2**20:.0f} MiB model + Adam state ({len(tensors)} tensors, "
          f"{pairs} interleaved runs)")
    for name in names:
        print(f"    {name:<15} median {statistics.median(times[name]) * 1e3:8.1f} ms")
    print(f"    async blocked / sync save   {statistics.median(vs_sync):.3f}x  (goal <= 0.1x)")
    print(f"    async blocked / memcpy      {statistics.median(vs_copy):.3f}x  (goal <= 1.5x; "
          f"torch copy_)")
    print(f"    async blocked / np memcpy   {statistics.median(vs_np):.3f}x  (one-thread copy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=400)
    parser.add_argument("--only", choices=["tutorial", "big"], default=None)
    parser.add_argument("--dir", default=None, help="where checkpoints go (default: a temp dir)")
    parser.add_argument("--threads", default="0,1",
                        help="torch thread counts for the tutorial, comma-separated (0: torch's "
                             "default). On 2 cores, 1 leaves the background writer a core.")
    args = parser.parse_args()
    default = torch.get_num_threads()
    print(f"torch {torch.__version__}, {default} threads by default, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        if args.only in (None, "tutorial"):
            for n in (int(t) for t in args.threads.split(",")):
                torch.set_num_threads(n or default)
                bench_tutorial(args.epochs, args.pairs, directory)
            torch.set_num_threads(default)
        if args.only in (None, "big"):
            bench_big_state(args.size_mb, args.pairs, directory)


if __name__ == "__main__":
    main()
