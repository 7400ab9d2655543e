"""Benchmark: the keras.io MNIST convnet ``fit`` in savepoint vs a hand-written PyTorch NCHW loop
(and Keras 3 on torch).

The model is keras.io's "Simple MNIST convnet": Conv2D(32, 3, relu) - MaxPooling2D -
Conv2D(64, 3, relu) - MaxPooling2D - Flatten - Dropout(0.5) - Dense(10, softmax), Adam,
categorical cross-entropy, accuracy, batch 128, on ``--samples`` random 28x28x1 images with a
validation pass each epoch. savepoint runs channels-last (NHWC) as Keras does; the torch loop is
what a PyTorch user writes (NCHW ``nn.Conv2d``, logits + ``CrossEntropyLoss``). Runs are
interleaved in pairs (order alternating) and the median ratio is printed.

    .venv/bin/python benchmarks/convnet_fit.py --epochs 3 --pairs 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

import numpy as np
import torch


def make_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return x, np.eye(10, dtype=np.float32)[y], y


def run_savepoint(x, y, vx, vy, epochs: int) -> float:
    import savepoint as keras
    L = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, validation_data=(vx, vy))
    return time.perf_counter() - start


def run_torch_loop(x, y, vx, vy, epochs: int) -> float:
    """The same network as a PyTorch user writes it: NCHW, logits, CrossEntropyLoss, Adam."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    vxt = torch.from_numpy(np.ascontiguousarray(vx.transpose(0, 3, 1, 2)))
    yt, vyt = torch.from_numpy(y.argmax(-1)), torch.from_numpy(vy.argmax(-1))
    n = len(xt)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(n)
        loss_sum, correct = torch.zeros(()), torch.zeros(())
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
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
            for i in range(0, len(vxt), 128):
                out = net(vxt[i:i + 128])
                vloss += loss_fn(out, vyt[i:i + 128]) * len(out)
                vcorrect += (out.argmax(-1) == vyt[i:i + 128]).sum()
        _ = (float(loss_sum) / n, float(correct) / n, float(vloss), float(vcorrect))
    return time.perf_counter() - start


_KERAS3_SCRIPT = """
import os, sys, time
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, torch, keras
torch.set_num_threads(int(sys.argv[2]))
epochs, n = int(sys.argv[1]), int(sys.argv[3])
def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
x, y = data(n, 0); vx, vy = data(n // 4, 1)
L = keras.layers
model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                          L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                          L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                          L.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x, y, batch_size=128, epochs=1, verbose=0, validation_data=(vx, vy))
start = time.perf_counter()
model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, validation_data=(vx, vy))
print(time.perf_counter() - start)
"""


def run_keras3(epochs: int, samples: int) -> float | None:
    """Keras 3 on torch in its interop venv (.venvs/keras3), timed after a warm-up epoch."""
    python = os.path.join(os.path.dirname(__file__), "..", ".venvs", "keras3", "bin", "python")
    if not os.path.exists(python):
        return None
    done = subprocess.run([python, "-c", _KERAS3_SCRIPT, str(epochs),
                           str(torch.get_num_threads()), str(samples)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"keras 3 run failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--no-keras3", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y, _ = make_data(args.samples, 0)
    vx, vy, _ = make_data(args.samples // 4, 1)
    run_savepoint(x, y, vx, vy, 1), run_torch_loop(x, y, vx, vy, 1)  # warm-up
    ratios, k3_ratios = [], []
    for pair in range(args.pairs):
        runs = [("ours", lambda: run_savepoint(x, y, vx, vy, args.epochs)),
                ("hand", lambda: run_torch_loop(x, y, vx, vy, args.epochs))]
        if pair % 2:
            runs.reverse()
        t = {name: fn() for name, fn in runs}
        k3 = None if args.no_keras3 else run_keras3(args.epochs, args.samples)
        ratios.append(t["ours"] / t["hand"])
        if k3 is not None:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair + 1}: savepoint {t['ours']:.2f}s  torch NCHW loop {t['hand']:.2f}s"
              + (f"  keras3 {k3:.2f}s" if k3 else ""), flush=True)
    print(f"torch threads: {torch.get_num_threads()}, epochs: {args.epochs}, "
          f"samples: {args.samples}, pairs: {args.pairs}")
    print(f"median savepoint fit / hand-written NCHW loop: {statistics.median(ratios):.3f}x "
          f"(goal <= 1.10x)")
    if k3_ratios:
        print(f"median keras 3 (torch) fit / hand-written loop: "
              f"{statistics.median(k3_ratios):.3f}x")


if __name__ == "__main__":
    main()
