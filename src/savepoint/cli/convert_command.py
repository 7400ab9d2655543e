"""``savepoint convert``: write a save in another format, chosen by the destination's suffix
(TF checkpoint, ``.h5``, ``.weights.h5``, ``.keras``, model directory / SavedModel,
``.safetensors``).

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> add_parser(sub).parse_args(["cp.ckpt", "w.safetensors", "--model", "m.json"]).model
    'm.json'
"""

from __future__ import annotations

import argparse

from savepoint.cli.output import print_json, subparser
from savepoint.saving.api.convert import convert

EXAMPLES = """\
  savepoint convert my_model.keras saved_model/my_model   # .keras -> model directory (SavedModel)
  savepoint convert saved_model/my_model my_model.h5      # -> Keras 2 .h5 model
  savepoint convert my_model.h5 training_1/cp.ckpt        # whole model -> TF checkpoint
  savepoint convert training_1/cp.ckpt w.safetensors --model model.json
  savepoint convert w.weights.h5 my_model.keras --model my_model.h5 --overwrite
  savepoint convert my_model.keras w.h5 --to h5_weights   # Keras 2 weights, not a model
  savepoint convert s3://bucket/run/cp.ckpt s3://bucket/run/w.weights.h5 --model model.json
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparser(
        sub, "convert", "convert a save to another format (chosen by DST's suffix)",
        "Convert SRC to the format DST names: '.h5' (Keras 2 model), '.weights.h5' (Keras 3 "
        "weights), '.keras', '.safetensors'; a name without suffix is a TensorFlow checkpoint "
        "prefix when it ends as TF names them (cp.ckpt, ckpt-5, model.ckpt-1000), else a "
        "model directory (a TensorFlow SavedModel). "
        "Whole-model sources convert to every format; weights-only sources need --model. "
        "Optimizer state is kept wherever the target format holds it.", EXAMPLES)
    parser.add_argument("src", help="the save to read")
    parser.add_argument("dst", help="where to write the converted save")
    parser.add_argument("--model", metavar="CONFIG_OR_MODEL_FILE",
                        help="the architecture for a weights-only SRC: a model JSON file (from "
                             "model.to_json()) or a whole-model save")
    parser.add_argument("--to", metavar="FORMAT",
                        help="the target format by name (tf_checkpoint, h5_weights, "
                             "keras_weights_h5, safetensors, model_directory, h5, keras) "
                             "instead of DST's suffix")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing DST")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def run(args: argparse.Namespace) -> int:
    report = convert(args.src, args.dst, model=args.model, overwrite=args.overwrite,
                     to=args.to)
    if args.json:
        print_json({"src": report.src, "dst": report.dst, "src_format": report.src_format,
                    "dst_format": report.dst_format, "variables": report.variables,
                    "optimizer": report.optimizer, "notes": report.notes})
        return 0
    print(f"Converted {report.src} ({report.src_format}) -> {report.dst} ({report.dst_format}): "
          f"{report.variables} tensors, optimizer state "
          f"{'included' if report.optimizer else 'not included'}")
    for note in report.notes:
        print(f"Note: {note}")
    return 0


__all__ = ["add_parser", "run"]
