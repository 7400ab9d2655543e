"""``savepoint verify``: check a save's checksums and structure without loading it, file by
file; exit status 0 when all is well, 1 when damaged (2: a usage error, from argparse).

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_parser(sub).parse_args(["my_model", "--json"]).path
    'my_model'
"""

from __future__ import annotations

import argparse

from savepoint.cli.output import print_json, print_table, subparser
from savepoint.saving.api.verify import check

EXAMPLES = """\
  savepoint verify training_1/cp.ckpt         # exit status 0: intact, 1: damaged
  savepoint verify training_1                 # the directory's latest checkpoint
  savepoint verify saved_model/my_model --json
  savepoint verify s3://bucket/run/my_model.keras
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparser(
        sub, "verify", "check a save's checksums and structure without loading it",
        "Check every checksum and structural invariant a load would check (tensor CRCs, "
        "index blocks, the object graph, HDF5 checksums, zip CRCs, fingerprint.json), without "
        "building a model. Prints the result per file. Exit status: 0 intact, 1 damaged or "
        "missing, 2 usage error.", EXAMPLES)
    parser.add_argument("path", help="the save: checkpoint prefix or directory, file or "
                                     "model directory (local path or URL)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def run(args: argparse.Namespace) -> int:
    result = check(args.path)
    if args.json:
        print_json({"path": result.path, "format": result.format, "ok": result.ok,
                    "tensors": result.n_tensors, "bytes_checked": result.bytes_checked,
                    "error": result.error,
                    "files": [{"path": f.path, "size": f.size, "status": f.status,
                               "detail": f.detail} for f in result.files]})
        return 0 if result.ok else 1
    print(f"Format: {result.format}")
    print_table([("file", "bytes", "status")] +
                [(f.path, "?" if f.size is None else f"{f.size:,}", f.status)
                 for f in result.files])
    if result.ok:
        print(f"OK: {result.n_tensors} tensors, {result.bytes_checked:,} bytes checked")
        return 0
    print(f"DAMAGED: {result.error}")
    return 1


__all__ = ["add_parser", "run"]
