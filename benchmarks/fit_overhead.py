"""Benchmark: savepoint ``fit`` vs a hand-written PyTorch loop doing the same work (and Keras 3).

The tutorial model (Dense 512 relu, Dropout 0.2, Dense 10; Adam; sparse CE from logits) trains on
1000 samples with batch 32, shuffling every epoch, tracking loss and accuracy, and running a
validation pass each epoch. Runs are interleaved in pairs and the median ratio is printed.

    .venv/bin/python benchmarks/fit_overhead.py --epochs 50 --pairs 5
"""

from __future__ import annotations

import time

import numpy as np
import torch

from _common import (argmax_correct, keras3_note, make_parser, parse_args, print_keras3_median,
                     print_median, print_settings, run_keras3, run_pair, train_torch)


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
    train_torch(net, opt, loss_fn, xt, yt, epochs, 32, argmax_correct, vxt, vyt)
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


def run_keras3_fit(epochs: int) -> float | None:
    """Keras 3 on torch, timed around its own fit (after a warm-up epoch) in the interop venv
    (.venvs/keras3, made by tools/setup_interop_venvs.sh), since it cannot share our venv."""
    return run_keras3(_KERAS3_SCRIPT, epochs)


def main() -> None:
    args = parse_args(make_parser(__doc__, epochs=50), keras3_switch=False)
    x, y = make_data(1000, 0)
    vx, vy = make_data(1000, 1)
    run_savepoint(x, y, vx, vy, 1), run_torch_loop(x, y, vx, vy, 1)  # warm-up
    ratios, fused_ratios, k3_ratios = [], [], []
    for pair in range(args.pairs):
        t = run_pair(pair, [
            ("ours", lambda: run_savepoint(x, y, vx, vy, args.epochs)),
            ("hand", lambda: run_torch_loop(x, y, vx, vy, args.epochs)),
            ("fused", lambda: run_torch_loop(x, y, vx, vy, args.epochs, fused=True))])
        k3 = run_keras3_fit(args.epochs)
        ratios.append(t["ours"] / t["hand"])
        fused_ratios.append(t["ours"] / t["fused"])
        if k3 is not None:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair + 1}: savepoint {t['ours']:.2f}s  torch loop {t['hand']:.2f}s  "
              f"torch loop (fused Adam) {t['fused']:.2f}s" + keras3_note(k3))
    print_settings(args, "epochs", "pairs")
    print_median("savepoint fit / hand-written loop (torch default Adam)", ratios,
                 " (goal <= 1.10x)")
    print_median("savepoint fit / hand-written loop with fused Adam", fused_ratios)
    print_keras3_median(k3_ratios, missing="keras 3 with the torch backend is not set up "
                        "(.venvs/keras3): no Keras 3 ratio.")


if __name__ == "__main__":
    main()
