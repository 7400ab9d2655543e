"""Benchmark: an Embedding + LSTM text classifier ``fit`` in savepoint vs a hand-written PyTorch
loop with ``nn.LSTM`` (and Keras 3 on torch).

The model is keras.io's IMDB LSTM classifier shape: Embedding(vocab, 64) - LSTM(64) -
Dense(1, sigmoid), Adam, binary cross-entropy, accuracy, batch 64, on ``--samples`` random
sequences of ``--steps`` ids. savepoint's LSTM keeps Keras's weights and runs torch's fused LSTM
kernel; the torch loop is what a PyTorch user writes (``nn.Embedding``, ``nn.LSTM(batch_first)``,
``nn.Linear``, ``BCEWithLogitsLoss``). Runs are interleaved in pairs (order alternating) and the
median ratio is printed.

    .venv/bin/python benchmarks/rnn_fit.py --epochs 2 --pairs 5 --threads 1
"""

from __future__ import annotations

import time

import numpy as np
import torch

from _common import (keras3_note, make_parser, parse_args, print_keras3_median, print_median,
                     print_settings, run_keras3, run_pair, train_torch)

VOCAB, EMBED, UNITS, BATCH = 5000, 64, 64, 64


def make_data(n: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(1, VOCAB, (n, steps)).astype("int64"), \
        rng.integers(0, 2, (n, 1)).astype("float32")


def run_savepoint(x, y, epochs: int) -> float:
    import savepoint as keras
    L = keras.layers
    model = keras.Sequential([keras.Input((x.shape[1],), dtype="int64"),
                              L.Embedding(VOCAB, EMBED), L.LSTM(UNITS),
                              L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
    return time.perf_counter() - start


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, EMBED)
        self.lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
        self.head = torch.nn.Linear(UNITS, 1)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embed(ids))
        return self.head(h[-1])


def _logit_correct(out, yb):
    return ((out > 0).float() == yb).sum()


def run_torch_loop(x, y, epochs: int) -> float:
    """The same network as a PyTorch user writes it: nn.LSTM, logits + BCEWithLogitsLoss."""
    net = _Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    train_torch(net, opt, loss_fn, xt, yt, epochs, BATCH, _logit_correct)
    return time.perf_counter() - start


_KERAS3_SCRIPT = """
import os, sys, time
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, torch, keras
torch.set_num_threads(int(sys.argv[2]))
epochs, n, steps = int(sys.argv[1]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
x = rng.integers(1, 5000, (n, steps)).astype("int64")
y = rng.integers(0, 2, (n, 1)).astype("float32")
L = keras.layers
model = keras.Sequential([keras.Input((steps,), dtype="int64"), L.Embedding(5000, 64),
                          L.LSTM(64), L.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
start = time.perf_counter()
model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
print(time.perf_counter() - start)
"""


def run_keras3_fit(epochs: int, samples: int, steps: int) -> float | None:
    """Keras 3 on torch in its interop venv (.venvs/keras3), timed after a warm-up."""
    return run_keras3(_KERAS3_SCRIPT, epochs, samples, steps)


def main() -> None:
    parser = make_parser(__doc__, epochs=2)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=80)
    args = parse_args(parser)
    x, y = make_data(args.samples, args.steps, 0)
    run_savepoint(x[:256], y[:256], 1), run_torch_loop(x[:256], y[:256], 1)  # warm-up
    ratios, k3_ratios = [], []
    for pair in range(args.pairs):
        t = run_pair(pair, [("ours", lambda: run_savepoint(x, y, args.epochs)),
                            ("hand", lambda: run_torch_loop(x, y, args.epochs))])
        k3 = None if args.no_keras3 else run_keras3_fit(args.epochs, args.samples, args.steps)
        ratios.append(t["ours"] / t["hand"])
        if k3 is not None:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair + 1}: savepoint {t['ours']:.2f}s  torch nn.LSTM loop "
              f"{t['hand']:.2f}s" + keras3_note(k3), flush=True)
    print_settings(args, "epochs", "samples", "steps", "pairs")
    print_median("savepoint fit / hand-written nn.LSTM loop", ratios, " (goal <= 1.10x)")
    print_keras3_median(k3_ratios)


if __name__ == "__main__":
    main()
