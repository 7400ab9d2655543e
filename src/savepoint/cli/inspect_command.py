"""``savepoint inspect``: the variables of any save (name, shape, dtype, bytes, totals), one
tensor's values, and a SavedModel's serving signatures, like TensorFlow's ``inspect_checkpoint``
and ``saved_model_cli show``.

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_parser(sub).parse_args(["cp.ckpt", "--json"]).json
    True
"""

from __future__ import annotations

import argparse

import numpy as np

from savepoint.cli.output import print_json, print_table, shape_text, subparser
from savepoint.saving.api import contents

EXAMPLES = """\
  savepoint inspect training_1/cp.ckpt        # a checkpoint prefix
  savepoint inspect training_1                # the latest checkpoint of a directory
  savepoint inspect saved_model/my_model      # variables and serving signature
  savepoint inspect my_model.keras --json
  savepoint inspect w.weights.h5 --tensor layers/dense/vars/0
  savepoint inspect s3://bucket/run/cp.ckpt
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparser(
        sub, "inspect", "list the variables of a checkpoint, weights file or saved model",
        "List every variable of a save (name, shape, dtype, size in bytes, totals): a "
        "TensorFlow checkpoint prefix or directory, '.h5', '.weights.h5', '.safetensors', "
        "'.keras', a model directory or a TensorFlow SavedModel (whose serving signatures are "
        "shown too). Local paths and URLs (s3://...).", EXAMPLES)
    parser.add_argument("path", help="the save: checkpoint prefix or directory, file or "
                                     "model directory")
    parser.add_argument("--tensor", metavar="NAME",
                        help="print the values of this one tensor (a name the listing shows)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _signature_json(sig: contents.SignatureInfo) -> dict:
    def side(items: dict) -> dict:
        return {k: {"dtype": dtype, "shape": shape} for k, (dtype, shape) in items.items()}
    return {"name": sig.name, "method": sig.method, "inputs": side(sig.inputs),
            "outputs": side(sig.outputs)}


def _print_listing(found: contents.SaveContents) -> None:
    print(f"Format: {found.format} ({found.kind})")
    print(f"Path: {found.source}")
    rows = [("name", "shape", "dtype", "bytes")]
    rows += [(v.name, shape_text(v.shape), v.dtype, f"{v.nbytes:,}") for v in found.variables]
    print_table(rows)
    print(f"Total: {len(found.variables)} tensors, {found.total_bytes:,} bytes")
    for sig in found.signatures:
        print(f"\nSignature '{sig.name}' (method {sig.method or '?'}):")
        for title, items in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            print(f"  {title}:")
            for key, (dtype, shape) in items.items():
                print(f"    {key}: {dtype} {shape_text(shape)}")


def _print_tensor(args: argparse.Namespace) -> None:
    stored = contents.read_variable(args.path, args.tensor)
    value = contents.as_numpy(stored)  # bfloat16 widened to float32 to print
    if args.json:
        if isinstance(value, (bytes, str)):
            shape, values = [], value.decode("utf-8", "replace") \
                if isinstance(value, bytes) else value
        else:
            shape, values = list(value.shape), value.tolist()
        print_json({"name": args.tensor, "shape": shape, "dtype": contents.dtype_name(stored),
                    "values": values})
        return
    print(f"tensor_name:  {args.tensor}")
    print(value)  # numpy's own printing, summarized past 1000 values as inspect_checkpoint's


def run(args: argparse.Namespace) -> int:
    if args.tensor is not None:
        _print_tensor(args)
        return 0
    found = contents.describe(args.path)
    if args.json:
        print_json({"path": found.path, "format": found.format, "kind": found.kind,
                    "source": found.source,
                    "variables": [{"name": v.name, "shape": list(v.shape), "dtype": v.dtype,
                                   "bytes": v.nbytes} for v in found.variables],
                    "total_tensors": len(found.variables), "total_bytes": found.total_bytes,
                    "signatures": [_signature_json(s) for s in found.signatures]})
    else:
        _print_listing(found)
    return 0


__all__ = ["add_parser", "run"]
