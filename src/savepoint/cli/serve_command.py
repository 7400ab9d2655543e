"""``savepoint serve``: a model server speaking TensorFlow Serving's REST API, with TF Serving's
flag names (``--rest_api_port``, ``--model_name``, ``--model_base_path``, ``--model_config_file``,
``--file_system_poll_wait_seconds``, ``--enable_batching``, ...).

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> args = add_parser(sub).parse_args(["--rest_api_port=9000", "--model_name=m",
    ...                                    "--model_base_path=/models/m", "--enable_batching"])
    >>> args.rest_api_port, args.enable_batching, [c.name for c in model_configs(args)]
    (9000, True, ['m'])
"""

from __future__ import annotations

import argparse

from savepoint.errors import ConfigError

EXAMPLES = """examples:
  savepoint serve --rest_api_port=8501 --model_name=my_model --model_base_path=/models/my_model
  savepoint serve --model_config_file=models.config --enable_batching --max_batch_size=64
  curl -d '{"instances": [[0.0, 1.0]]}' http://localhost:8501/v1/models/my_model:predict
"""


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, received {text!r}")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="serve models over TensorFlow Serving's REST API",
                       description="Serve savepoint model directories (and tf.keras "
                                   "SavedModels) over TensorFlow Serving's REST API. A base "
                                   "path holds numbered version folders; the highest is served "
                                   "and new ones are picked up while serving.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rest_api_port", type=int, default=8501,
                   help="port of the REST API (default: 8501)")
    p.add_argument("--rest_api_host", default="0.0.0.0",
                   help="address to listen on (default: 0.0.0.0)")
    p.add_argument("--model_name", default="default", help="name of the model (default: default)")
    p.add_argument("--model_base_path", default="",
                   help="directory holding the model's numbered version folders")
    p.add_argument("--model_config_file", default="",
                   help="text proto 'model_config_list { config { name: ... base_path: ... } }' "
                        "for several models (overrides --model_name/--model_base_path)")
    p.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0,
                   help="seconds between looks for new versions (0: never; default: 1)")
    p.add_argument("--enable_batching", type=_bool, nargs="?", const=True, default=False,
                   help="batch requests that arrive together into one forward pass")
    p.add_argument("--batching_parameters_file", default="",
                   help="text proto with max_batch_size, batch_timeout_micros, "
                        "num_batch_threads, max_enqueued_batches")
    p.add_argument("--max_batch_size", type=int, default=None,
                   help="rows per batch (default: 1000, as TF Serving)")
    p.add_argument("--batch_timeout_micros", type=int, default=None,
                   help="longest wait for a batch to fill (default: 0)")
    p.add_argument("--rest_api_num_threads", type=int, default=0,
                   help="inference threads without batching (default: 4 x CPU cores)")
    return p


def model_configs(args: argparse.Namespace) -> list:
    """The models to serve: ``--model_config_file``, or ``--model_name``/``--model_base_path``."""
    from savepoint.serving.config import ModelConfig, parse_model_config
    if args.model_config_file:
        return parse_model_config(_read(args.model_config_file, "--model_config_file"),
                                  args.model_config_file)
    if not args.model_base_path:
        raise ConfigError("Expected --model_base_path (or --model_config_file). Received "
                          "neither. Fix: savepoint serve --model_name=my_model "
                          "--model_base_path=/models/my_model")
    return [ModelConfig(args.model_name, args.model_base_path)]


def batching_parameters(args: argparse.Namespace):
    """TF Serving's batching parameters when ``--enable_batching``, else ``None``."""
    from savepoint.serving.config import BatchingParameters, parse_batching_parameters
    explicit = args.batching_parameters_file or args.max_batch_size is not None \
        or args.batch_timeout_micros is not None
    if not args.enable_batching:
        if explicit:
            raise ConfigError("Expected --enable_batching with batching parameters. Received "
                              "batching parameters without it. Fix: add --enable_batching.")
        return None
    params = BatchingParameters()
    if args.batching_parameters_file:
        params = parse_batching_parameters(_read(args.batching_parameters_file,
                                                 "--batching_parameters_file"),
                                           args.batching_parameters_file)
    for flag in ("max_batch_size", "batch_timeout_micros"):
        value = getattr(args, flag)
        if value is not None:
            if value < (1 if flag == "max_batch_size" else 0):
                raise ConfigError(f"Expected --{flag} >= {1 if flag == 'max_batch_size' else 0}"
                                  f". Received {value}. Fix: pass a valid value.")
            setattr(params, flag, value)
    return params


def _read(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"Expected {flag} to name a readable text file. Received {path!r} "
                          f"({e.strerror}). Fix: check the path.") from None


def run(args: argparse.Namespace) -> int:
    from savepoint.serving.server import serve
    return serve(model_configs(args), port=args.rest_api_port, host=args.rest_api_host,
                 poll_wait_seconds=args.file_system_poll_wait_seconds,
                 batching=batching_parameters(args), num_threads=args.rest_api_num_threads)


__all__ = ["add_parser", "batching_parameters", "model_configs", "run"]
