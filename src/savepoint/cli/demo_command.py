"""``savepoint demo``: the "Save and load models" tutorial flow on the embedded MNIST sample.

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_parser(sub).parse_args(["--epochs", "3"]).epochs
    3
"""

from __future__ import annotations

import argparse

from savepoint.demo import run_demo


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    demo = sub.add_parser("demo", help="run the 'Save and load models' tutorial on MNIST",
                          description="Run TensorFlow's 'Save and load models' tutorial flow "
                                      "(works offline with the embedded MNIST sample).")
    demo.add_argument("--epochs", type=_positive_int, default=10,
                      help="training epochs (default: 10, as in the tutorial)")
    demo.add_argument("--workdir", default=None,
                      help="directory for the files the demo writes (default: a temporary "
                           "directory removed at the end)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return demo


def run(args: argparse.Namespace) -> int:
    run_demo(epochs=args.epochs, workdir=args.workdir, seed=args.seed)
    return 0


__all__ = ["add_parser", "run"]
