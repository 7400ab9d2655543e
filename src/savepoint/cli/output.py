"""Printing for the checkpoint subcommands (``inspect``, ``verify``, ``convert``, ``diff``):
aligned text tables and JSON on stdout.

Example:
    >>> print_table([("name", "bytes"), ("dense/kernel", "24")])
    name          bytes
    dense/kernel  24
    >>> print_json({"ok": True})
    {
      "ok": true
    }
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` (the first is the header) as left-aligned columns two spaces apart.

    Example:
        >>> print_table([("a", "b"), ("ccc", "d")])
        a    b
        ccc  d
    """
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON.

    Example:
        >>> print_json([1, 2])
        [
          1,
          2
        ]
    """
    print(json.dumps(value, indent=2, default=str))


def subparser(sub: argparse._SubParsersAction, name: str, help: str, description: str,
              examples: str) -> argparse.ArgumentParser:
    """A subcommand parser whose ``--help`` ends with ``examples`` (kept as written).

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> subparser(sub, "x", "do x", "Do x.", "  savepoint x").epilog
        'examples:\\n  savepoint x'
    """
    return sub.add_parser(name, help=help, description=description,
                          epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def shape_text(shape: Any) -> str:
    """A shape as TensorFlow's tools print it: ``[784, 512]``, ``[]`` for a scalar, ``?`` for
    an unknown rank.

    Example:
        >>> shape_text((784, 512)), shape_text(()), shape_text(None)
        ('[784, 512]', '[]', '?')
    """
    return "?" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


__all__ = ["print_json", "print_table", "shape_text", "subparser"]
