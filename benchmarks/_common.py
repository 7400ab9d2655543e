"""What the fit benchmarks share: the command line, the hand-written torch training loop, the
Keras 3 subprocess run, interleaved pairs and the printed medians.

The scripts run as ``.venv/bin/python benchmarks/<name>.py``, so this file is importable as
``_common`` from beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess

import torch

KERAS3_PYTHON = os.path.join(os.path.dirname(__file__), "..", ".venvs", "keras3", "bin",
                             "python")


def make_parser(doc: str, epochs: int) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc`` with ``--epochs`` and ``--pairs``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--pairs", type=int, default=5)
    return parser


def parse_args(parser: argparse.ArgumentParser, keras3_switch: bool = True) -> argparse.Namespace:
    """Add ``--threads`` (and ``--no-keras3``), parse, and pin torch's threads when asked."""
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    if keras3_switch:
        parser.add_argument("--no-keras3", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def train_torch(net, opt, loss_fn, xt, yt, epochs: int, batch: int, correct,
                vxt=None, vyt=None) -> tuple:
    """The loop a PyTorch user writes: shuffle each epoch, step, track loss and ``correct(out,
    yb)``; with ``vxt``/``vyt`` a validation pass each epoch (``net.train()``/``net.eval()``).
    Returns the last epoch's numbers (read as Python floats, which waits for the work)."""
    n = len(xt)
    result = ()
    for _ in range(epochs):
        if vxt is not None:
            net.train()
        perm = torch.randperm(n)
        loss_sum, hits = torch.zeros(()), torch.zeros(())
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb, yb = xt[idx], yt[idx]
            out = net(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                hits += correct(out, yb)
        if vxt is None:
            result = (float(loss_sum) / n, float(hits) / n)
            continue
        net.eval()
        with torch.no_grad():
            vloss, vhits = torch.zeros(()), torch.zeros(())
            for i in range(0, len(vxt), batch):
                out = net(vxt[i:i + batch])
                vloss += loss_fn(out, vyt[i:i + batch]) * len(out)
                vhits += correct(out, vyt[i:i + batch])
        result = (float(loss_sum) / n, float(hits) / n, float(vloss) / len(vxt),
                  float(vhits) / len(vxt))
    return result


def argmax_correct(out, yb):
    """Hits of class logits/probabilities against integer labels."""
    return (out.argmax(-1) == yb).sum()


def run_keras3(script: str, *args) -> float | None:
    """Run ``script`` (``python -c``; argv: the epochs first, then torch's thread count, then
    ``args[1:]``) with Keras 3 on torch in its interop venv (.venvs/keras3, made by
    tools/setup_interop_venvs.sh), since it cannot share our venv; the seconds it prints last,
    or None when the venv is missing or the run fails."""
    if not os.path.exists(KERAS3_PYTHON):
        return None
    argv = [str(args[0]), str(torch.get_num_threads())] + [str(a) for a in args[1:]]
    done = subprocess.run([KERAS3_PYTHON, "-c", script] + argv, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"keras 3 run failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(done.stdout.strip().splitlines()[-1])


def run_pair(pair: int, runs: list) -> dict[str, float]:
    """Run the in-process contenders ``[(name, fn), ...]`` of one pair, in reverse order on odd
    pairs; ``{name: seconds}``."""
    runs = list(runs)
    if pair % 2:
        runs.reverse()
    return {name: fn() for name, fn in runs}


def keras3_note(k3: float | None) -> str:
    """The Keras 3 time for a pair's line ("" without one)."""
    return f"  keras3 {k3:.2f}s" if k3 else ""


def print_settings(args: argparse.Namespace, *names: str) -> None:
    """torch's threads and the named arguments, e.g. ``epochs: 3, pairs: 5``."""
    print(f"torch threads: {torch.get_num_threads()}, "
          + ", ".join(f"{name}: {getattr(args, name)}" for name in names))


def print_median(label: str, ratios: list[float], suffix: str = "") -> None:
    """``median <label>: <median>x<suffix>``."""
    print(f"median {label}: {statistics.median(ratios):.3f}x{suffix}")


def print_keras3_median(k3_ratios: list[float], missing: str | None = None,
                        label: str = "keras 3 (torch) fit / hand-written loop") -> None:
    """The Keras 3 / hand-written loop median, or ``missing`` (when given) without one."""
    if k3_ratios:
        print_median(label, k3_ratios)
    elif missing:
        print(missing)
