"""``savepoint diff``: the variables two saves differ in (missing on a side, shape, dtype or
value with the largest absolute difference), across formats too; exit status 0 when identical,
1 when different.

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_parser(sub).parse_args(["a.keras", "b.h5", "--atol", "1e-6"]).atol
    1e-06
"""

from __future__ import annotations

import argparse

from savepoint.cli.output import print_json, print_table, subparser
from savepoint.saving.api.diff import diff

EXAMPLES = """\
  savepoint diff training_1/cp.ckpt training_2/cp-0005.ckpt
  savepoint diff training_1/cp.ckpt my_weights.weights.h5 --model my_model.keras
  savepoint diff my_model.keras saved_model/my_model --atol 1e-6
  savepoint diff s3://bucket/a/cp.ckpt s3://bucket/b/cp.ckpt --json
"""

_WHAT = {"missing_in_a": "missing in A", "missing_in_b": "missing in B",
         "shape": "shape differs", "dtype": "dtype differs", "value": "values differ"}


def _atol(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, received {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparser(
        sub, "diff", "show the variables two saves differ in (any formats)",
        "Compare two saves variable by variable: missing in A, missing in B, shape or dtype "
        "changes and value changes with the largest absolute difference. Saves of different "
        "formats are compared through the model's variables (the architecture comes from a "
        "whole-model side or --model). Exit status: 0 identical, 1 different.", EXAMPLES)
    parser.add_argument("a", help="the first save")
    parser.add_argument("b", help="the second save")
    parser.add_argument("--atol", type=_atol, default=0.0,
                        help="values within this absolute tolerance count as equal "
                             "(default 0: bit for bit)")
    parser.add_argument("--model", metavar="CONFIG_OR_MODEL_FILE",
                        help="the architecture for comparing two weights-only saves of "
                             "different formats: a model JSON file or a whole-model save")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def run(args: argparse.Namespace) -> int:
    report = diff(args.a, args.b, atol=args.atol, model=args.model)
    if args.json:
        print_json({"a": report.a, "b": report.b, "format_a": report.format_a,
                    "format_b": report.format_b, "compared_as": report.compared_as,
                    "compared": report.compared, "identical": report.identical,
                    "differences": [{"name": d.name, "kind": d.kind, "a": d.a, "b": d.b,
                                     "max_abs_diff": d.max_abs_diff}
                                    for d in report.differences],
                    "notes": report.notes})
        return 0 if report.identical else 1
    print(f"A: {report.a} ({report.format_a})")
    print(f"B: {report.b} ({report.format_b})")
    print(f"Compared by {report.compared_as}: {report.compared} in both")
    for note in report.notes:
        print(f"Note: {note}")
    if report.identical:
        print("Identical" + (f" (within atol={args.atol:g})" if args.atol else ""))
        return 0
    rows = [("name", "difference", "A", "B", "max abs diff")]
    rows += [(d.name, _WHAT[d.kind], d.a, d.b,
              "" if d.max_abs_diff is None else f"{d.max_abs_diff:.6g}")
             for d in report.differences]
    print_table(rows)
    print(f"{len(report.differences)} variable(s) differ")
    return 1


__all__ = ["add_parser", "run"]
