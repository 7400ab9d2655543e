"""The ``savepoint`` command: ``savepoint demo`` runs the "Save and load models" tutorial flow.

This module parses the command line; the steps live in ``savepoint.demo``, which never imports
this module.

Example:
    $ savepoint demo --epochs 2
    $ python -m savepoint demo --workdir ./savepoint_demo --seed 1
"""

from __future__ import annotations

import argparse
import sys

import savepoint
from savepoint.demo import run_demo
from savepoint.errors import SavepointError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``savepoint`` command.

    Example:
        >>> build_parser().parse_args(["demo", "--epochs", "2"]).epochs
        2
    """
    parser = argparse.ArgumentParser(
        prog="savepoint", description="The Keras API on PyTorch, with TensorFlow checkpoints.")
    parser.add_argument("--version", action="version", version=savepoint.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the 'Save and load models' tutorial on MNIST",
                          description="Run TensorFlow's 'Save and load models' tutorial flow "
                                      "(works offline with the embedded MNIST sample).")
    demo.add_argument("--epochs", type=_positive_int, default=10,
                      help="training epochs (default: 10, as in the tutorial)")
    demo.add_argument("--workdir", default=None,
                      help="directory for the files the demo writes (default: a temporary "
                           "directory removed at the end)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``savepoint`` console script; returns the exit status.

    Example:
        >>> main(["demo", "--epochs", "1"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    try:
        run_demo(epochs=args.epochs, workdir=args.workdir, seed=args.seed)
    except SavepointError as e:
        print(f"savepoint: error: {e}", file=sys.stderr)
        return 1
    return 0


__all__ = ["build_parser", "main"]
