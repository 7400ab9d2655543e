"""Benchmark: Keras's ResNet50 ``predict`` (batch 32, 64x64x3, 1000 classes) in savepoint vs the
same network hand-written in PyTorch NCHW (``nn.Conv2d``/``nn.BatchNorm2d``, eval mode, no_grad).

savepoint builds ``savepoint.applications.ResNet50(weights=None, input_shape=(64, 64, 3))``
(channels-last, Keras's layer graph) and calls ``model.predict(x, batch_size=32)``; the torch
model is Keras's ResNet50 v1 layout (biased convs, stride on the first 1x1 of a block, eps
1.001e-5) as a PyTorch user writes it. Runs are interleaved in pairs (order alternating) and
the median of the per-pair ratios is printed. Keras 3 on torch (its interop venv) runs the same
predict once per pair, timed after a warm-up batch.

    .venv/bin/python benchmarks/resnet50_predict.py --batches 4 --pairs 5 --threads 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import (keras3_note, parse_args, print_keras3_median, print_median,
                     print_settings, run_keras3, run_pair)
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, cin: int, filters: int, stride: int, shortcut: bool) -> None:
        super().__init__()
        out = 4 * filters
        self.short = nn.Sequential(nn.Conv2d(cin, out, 1, stride),
                                   nn.BatchNorm2d(out, eps=1.001e-5)) if shortcut else None
        self.body = nn.Sequential(
            nn.Conv2d(cin, filters, 1, stride), nn.BatchNorm2d(filters, eps=1.001e-5), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, 1, 1), nn.BatchNorm2d(filters, eps=1.001e-5),
            nn.ReLU(), nn.Conv2d(filters, out, 1), nn.BatchNorm2d(out, eps=1.001e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x if self.short is None else self.short(x)
        return torch.relu(s + self.body(x))


def torch_resnet50(classes: int = 1000) -> nn.Module:
    blocks: list[nn.Module] = [nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, 2),
                               nn.BatchNorm2d(64, eps=1.001e-5), nn.ReLU(), nn.ZeroPad2d(1),
                               nn.MaxPool2d(3, 2)]
    cin = 64
    for filters, n, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(n):
            blocks.append(Bottleneck(cin, filters, stride if i == 0 else 1, i == 0))
            cin = 4 * filters
    blocks += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes),
               nn.Softmax(dim=-1)]
    return nn.Sequential(*blocks).eval()


def run_savepoint(model, x: np.ndarray) -> float:
    start = time.perf_counter()
    model.predict(x, batch_size=32, verbose=0)
    return time.perf_counter() - start


def run_torch(net: nn.Module, x: np.ndarray) -> float:
    start = time.perf_counter()
    # A PyTorch user converts the NHWC batch to NCHW once, then runs batch by batch.
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        for i in range(0, len(xt), 32):
            net(xt[i:i + 32]).numpy()
    return time.perf_counter() - start


_KERAS3_SCRIPT = """
import os, sys, time
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, torch, keras
torch.set_num_threads(int(sys.argv[2]))
batches = int(sys.argv[1])
model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
x = np.random.default_rng(0).uniform(0, 255, (32 * batches, 64, 64, 3)).astype("float32")
model.predict(x[:32], batch_size=32, verbose=0)
start = time.perf_counter()
model.predict(x, batch_size=32, verbose=0)
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=5)
    args = parse_args(parser)
    print_settings(args, "batches", "pairs")
    from savepoint import applications
    model = applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    net = torch_resnet50()
    x = np.random.default_rng(0).uniform(0, 255, (32 * args.batches, 64, 64, 3)).astype(
        "float32")
    run_savepoint(model, x[:32])  # warm-up: first-call allocations, kernel selection
    run_torch(net, x[:32])
    ratios, k3_ratios = [], []
    for pair in range(args.pairs):
        t = run_pair(pair, [("ours", lambda: run_savepoint(model, x)),
                            ("hand", lambda: run_torch(net, x))])
        k3 = None if args.no_keras3 else run_keras3(_KERAS3_SCRIPT, args.batches)
        ratios.append(t["ours"] / t["hand"])
        if k3:
            k3_ratios.append(k3 / t["hand"])
        print(f"pair {pair}: savepoint {t['ours']:.3f}s  torch NCHW {t['hand']:.3f}s  "
              f"ratio {ratios[-1]:.3f}x" + keras3_note(k3), flush=True)
    print_median("savepoint predict / torch NCHW", ratios, " (goal <= 1.10x)")
    print_keras3_median(k3_ratios, "keras 3: not run (--no-keras3, or no .venvs/keras3)",
                        "keras 3 (torch) predict / torch NCHW")


if __name__ == "__main__":
    main()
