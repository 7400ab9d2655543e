"""The ``savepoint`` command: parses the command line and hands each subcommand to its module.

Every subcommand is one module of this package, listed in ``COMMANDS``, that defines
``add_parser(subparsers)`` (its ``argparse`` parser, with ``--help`` examples) and
``run(args) -> int`` (its exit status). ``savepoint demo`` runs the "Save and load models"
tutorial flow; the steps live in ``savepoint.demo``, which never imports this package.

Example:
    $ savepoint demo --epochs 2
    $ python -m savepoint demo --workdir ./savepoint_demo --seed 1
"""

from __future__ import annotations

import argparse
import importlib
import sys

import savepoint
from savepoint.errors import SavepointError

# subcommand name -> module (in --help order)
COMMANDS: dict[str, str] = {
    "demo": "savepoint.cli.demo_command",
    "serve": "savepoint.cli.serve_command",
    "inspect": "savepoint.cli.inspect_command",
    "verify": "savepoint.cli.verify_command",
    "convert": "savepoint.cli.convert_command",
    "diff": "savepoint.cli.diff_command",
}


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
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``savepoint`` console script; returns the exit status.

    Example:
        >>> main(["demo", "--epochs", "1"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in COMMANDS:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(COMMANDS[args.command]).run(args) or 0)
    except SavepointError as e:
        print(f"savepoint: error: {e}", file=sys.stderr)
        return 1


__all__ = ["COMMANDS", "build_parser", "main"]
