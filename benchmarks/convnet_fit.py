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

import time

import numpy as np
import torch

from _common import (argmax_correct, keras3_note, make_parser, parse_args, print_keras3_median,
                     print_median, print_settings, run_keras3, run_pair, train_torch)


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
    train_torch(net, opt, loss_fn, xt, yt, epochs, 128, argmax_correct, vxt, vyt)
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


def run_keras3_fit(epochs: int, samples: int) -> float | None:
    """Keras 3 on torch in its interop venv (.venvs/keras3), timed after a warm-up epoch."""
    return run_keras3(_KERAS3_SCRIPT, epochs, samples)


def main() -> None:
    parser = make_parser(__doc__, epochs=3)
    parser.add_argument("--samples", type=int, default=2048)
    args = parse_args(parser)
    x, y, _ = make_data(args.samples, 0)
    vx, vy, _ = make_data(args.samples // 4, 1)
    run_savepoint(x, y, vx, vy, 1), run_torch_loop(x, y, vx, vy, 1)  # warm-up
    ratios, k3_ratios = [], []
    for pair in range(args.pairs):
        t = run_pair(pair, [("ours", lambda: run_savepoint(x, y, vx, vy, args.epochs)),
                            ("hand", lambda: run_torch_loop(x, y, vx, vy, args.epochs))])
        k3 = None if args.no_keras3 else run_keras3_fit(args.epochs, args.samples)
        ratios.append(t["ours"] / t["hand"])
        if k3 is not None:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair + 1}: savepoint {t['ours']:.2f}s  torch NCHW loop {t['hand']:.2f}s"
              + keras3_note(k3), flush=True)
    print_settings(args, "epochs", "samples", "pairs")
    print_median("savepoint fit / hand-written NCHW loop", ratios, " (goal <= 1.10x)")
    print_keras3_median(k3_ratios)


if __name__ == "__main__":
    main()
