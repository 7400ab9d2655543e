"""Benchmark: Keras's ResNet50 ``predict`` (batch 32, 64x64x3, 1000 classes) in savepoint vs the
same network hand-written in PyTorch NCHW (``nn.Conv2d``/``nn.BatchNorm2d``, eval mode, no_grad).

savepoint builds ``savepoint.applications.ResNet50(weights=None, input_shape=(64, 64, 3))``
(channels-last, Keras's layer graph) and calls ``model.predict(x, batch_size=32)``; the torch
model is Keras's ResNet50 v1 layout (biased convs, stride on the first 1x1 of a block, eps
1.001e-5) as a PyTorch user writes it. Runs are interleaved in pairs (order alternating) and
the median of the per-pair ratios is printed.

    .venv/bin/python benchmarks/resnet50_predict.py --batches 4 --pairs 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from savepoint import applications
    model = applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    net = torch_resnet50()
    x = np.random.default_rng(0).uniform(0, 255, (32 * args.batches, 64, 64, 3)).astype(
        "float32")
    run_savepoint(model, x[:32])  # warm-up: first-call allocations, kernel selection
    run_torch(net, x[:32])
    ratios, sp_times, th_times = [], [], []
    for pair in range(args.pairs):
        if pair % 2:
            t = run_torch(net, x)
            s = run_savepoint(model, x)
        else:
            s = run_savepoint(model, x)
            t = run_torch(net, x)
        sp_times.append(s)
        th_times.append(t)
        ratios.append(s / t)
        print(f"pair {pair}: savepoint {s:.3f} s, torch {t:.3f} s, ratio {s / t:.3f}x",
              flush=True)
    print(f"savepoint predict: median {statistics.median(sp_times):.3f} s; torch NCHW: median "
          f"{statistics.median(th_times):.3f} s")
    print(f"median ratio savepoint / torch NCHW: {statistics.median(ratios):.3f}x "
          f"(goal <= 1.10x)")


if __name__ == "__main__":
    main()
