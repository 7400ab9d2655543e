"""Benchmark: savepoint ``fit`` vs a hand-written PyTorch loop doing the same work (and Keras 3).

The tutorial model (Dense 512 relu, Dropout 0.2, Dense 10; Adam; sparse CE from logits) trains on
1000 samples with batch 32, shuffling every epoch, tracking loss and accuracy, and running a
validation pass each epoch. Runs are interleaved in pairs and the median ratio is printed.

    .venv/bin/python benchmarks/fit_overhead.py --epochs 50 --pairs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch


def make_data(n: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, y


def run_savepoint(x, y, vx, vy, epochs: int) -> float:
    import savepoint as keras
    model = keras.Sequential([keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(vx, vy))
    return time.perf_counter() - start


def run_torch_loop(x, y, vx, vy, epochs: int, fused: bool = False) -> float:
    """What a careful PyTorch user writes by hand for the same job (torch's default Adam, or
    the fused Adam kernel savepoint uses)."""
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7,
                           **({"fused": True} if fused else {"foreach": True}))
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    vxt, vyt = torch.from_numpy(vx), torch.from_numpy(vy)
    n = len(xt)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(n)
        loss_sum, correct = torch.zeros(()), torch.zeros(())
        for i in range(0, n, 32):
            idx = perm[i:i + 32]
            xb, yb = xt[idx], yt[idx]
            out = net(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (out.argmax(-1) == yb).sum()
        net.eval()
        with torch.no_grad():
            vloss, vcorrect = torch.zeros(()), torch.zeros(())
            for i in range(0, len(vxt), 32):
                out = net(vxt[i:i + 32])
                vloss += loss_fn(out, vyt[i:i + 32]) * len(out)
                vcorrect += (out.argmax(-1) == vyt[i:i + 32]).sum()
        _ = (float(loss_sum) / n, float(correct) / n, float(vloss) / len(vxt),
             float(vcorrect) / len(vxt))
    return time.perf_counter() - start


_KERAS3_SCRIPT = """
import os, sys, time
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, torch, keras
torch.set_num_threads(int(sys.argv[2]))
epochs = int(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.random((1000, 784), dtype=np.float32); y = rng.integers(0, 10, 1000)
rng = np.random.default_rng(1)
vx = rng.random((1000, 784), dtype=np.float32); vy = rng.integers(0, 10, 1000)
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(10)])
model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
model.fit(x, y, epochs=1, batch_size=32, verbose=0, validation_data=(vx, vy))
start = time.perf_counter()
model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(vx, vy))
print(time.perf_counter() - start)
"""


def run_keras3(x, y, vx, vy, epochs: int) -> float | None:
    """Keras 3 on torch, timed around its own fit (after a warm-up epoch) in the interop venv
    (.venvs/keras3, made by tools/setup_interop_venvs.sh), since it cannot share our venv."""
    import subprocess
    python = os.path.join(os.path.dirname(__file__), "..", ".venvs", "keras3", "bin", "python")
    if not os.path.exists(python):
        return None
    done = subprocess.run([python, "-c", _KERAS3_SCRIPT, str(epochs),
                           str(torch.get_num_threads())], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"keras 3 run failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = make_data(1000, 0)
    vx, vy = make_data(1000, 1)
    run_savepoint(x, y, vx, vy, 1), run_torch_loop(x, y, vx, vy, 1)  # warm-up
    ratios, fused_ratios, k3_ratios = [], [], []
    for pair in range(args.pairs):
        runs = [("ours", lambda: run_savepoint(x, y, vx, vy, args.epochs)),
                ("hand", lambda: run_torch_loop(x, y, vx, vy, args.epochs)),
                ("fused", lambda: run_torch_loop(x, y, vx, vy, args.epochs, fused=True))]
        if pair % 2:
            runs.reverse()
        t = {name: fn() for name, fn in runs}
        k3 = run_keras3(x, y, vx, vy, args.epochs)
        ratios.append(t["ours"] / t["hand"])
        fused_ratios.append(t["ours"] / t["fused"])
        if k3 is not None:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair + 1}: savepoint {t['ours']:.2f}s  torch loop {t['hand']:.2f}s  "
              f"torch loop (fused Adam) {t['fused']:.2f}s" + (f"  keras3 {k3:.2f}s" if k3 else ""))
    print(f"torch threads: {torch.get_num_threads()}, epochs: {args.epochs}, pairs: {args.pairs}")
    print(f"median savepoint fit / hand-written loop (torch default Adam): "
          f"{statistics.median(ratios):.3f}x (goal <= 1.10x)")
    print(f"median savepoint fit / hand-written loop with fused Adam: "
          f"{statistics.median(fused_ratios):.3f}x")
    if k3_ratios:
        print(f"median keras 3 (torch) fit / hand-written loop: {statistics.median(k3_ratios):.3f}x")
    else:
        print("keras 3 with the torch backend is not set up (.venvs/keras3): no Keras 3 ratio.")


if __name__ == "__main__":
    main()
