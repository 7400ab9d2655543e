"""The text-proto files of ``savepoint serve``: TF Serving's ``--model_config_file`` and
``--batching_parameters_file``, parsed by a small parser for the subset they use.

The grammar: ``name: value`` (a quoted string, a number, ``true``/``false`` or an identifier)
and ``name { ... }`` (also ``name: { ... }``), ``#`` comments, optional ``,``/``;`` separators.
Every field is checked against the schema of the message it sits in; an unknown field, a wrong
type or a missing name fails with a ``ConfigError`` naming the line.

Example:
    >>> text = ('model_config_list { config { name: "a" base_path: "/m/a" '
    ...         'model_platform: "tensorflow" } }')
    >>> [(c.name, c.base_path) for c in parse_model_config(text)]
    [('a', '/m/a')]
    >>> parse_batching_parameters("max_batch_size { value: 64 } batch_timeout_micros: 500")
    BatchingParameters(max_batch_size=64, batch_timeout_micros=500, num_batch_threads=0,
                       max_enqueued_batches=1000000)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from savepoint.errors import ConfigError

_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[{}:<>,;\[\]]|'
                    r'-?[0-9][0-9a-zA-Z_.+-]*|[A-Za-z_][A-Za-z0-9_.]*')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


@dataclass
class Field:
    """One parsed ``name: value`` / ``name { ... }``; ``value`` is a scalar or a list of Fields."""
    name: str
    value: Any
    line: int


@dataclass
class ModelConfig:
    """One ``config { ... }`` of a ``model_config_list``."""
    name: str
    base_path: str
    model_platform: str = "tensorflow"
    version_policy: tuple = ("latest", 1)   # ("latest", n) | ("all",) | ("specific", (v, ...))
    version_labels: dict[str, int] = field(default_factory=dict)


@dataclass
class BatchingParameters:
    """TF Serving's ``BatchingParameters`` (0 batch threads: the number of CPU cores)."""
    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    num_batch_threads: int = 0
    max_enqueued_batches: int = 1000000


def _tokens(text: str, source: str) -> list[tuple[str, int]]:
    out, line, pos = [], 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ConfigError(f"{source}:{line}: expected a field name, a value, '{{', '}}' or "
                              f"':'. Received {text[pos:pos + 20]!r}. Fix: write the file in "
                              f"protobuf text format (name: \"value\" or name {{ ... }}).")
        tok = m.group()
        if not tok.isspace() and not tok.startswith("#") and tok not in ",;":
            out.append((tok, line))
        line += tok.count("\n")
        pos = m.end()
    return out


def parse_text_proto(text: str, source: str = "<text proto>") -> list[Field]:
    """Parse the text-proto subset into a tree of ``Field``s (no schema check).

    Example:
        >>> [(f.name, f.value) for f in parse_text_proto('a: 1 b: "x" c { d: true }')][:2]
        [('a', 1), ('b', 'x')]
    """
    tokens = _tokens(text, source)
    fields, pos = _parse_fields(tokens, 0, source, closing=None)
    return fields


def _parse_fields(tokens: list, pos: int, source: str, closing: str | None) -> tuple[list, int]:
    fields: list[Field] = []
    while pos < len(tokens):
        tok, line = tokens[pos]
        if tok == closing:
            return fields, pos + 1
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", tok):
            raise ConfigError(f"{source}:{line}: expected a field name. Received {tok!r}. Fix: "
                              f"check the braces and quotes before line {line}.")
        pos += 1
        nxt = tokens[pos][0] if pos < len(tokens) else None
        if nxt == ":":
            pos += 1
            nxt = tokens[pos][0] if pos < len(tokens) else None
        if nxt in ("{", "<"):
            inner, pos = _parse_fields(tokens, pos + 1, source, "}" if nxt == "{" else ">")
            fields.append(Field(tok, inner, line))
        elif nxt is None:
            raise ConfigError(f"{source}:{line}: expected a value after {tok!r}. Received the "
                              f"end of the file. Fix: complete the field.")
        else:
            fields.append(Field(tok, _scalar(nxt, tokens[pos][1], source), line))
            pos += 1
    if closing is not None:
        raise ConfigError(f"{source}: expected '{closing}' to close a message. Received the end "
                          f"of the file. Fix: balance the braces.")
    return fields, pos


def _scalar(tok: str, line: int, source: str) -> Any:
    if tok[0] in "\"'":
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), tok[1:-1])
    if tok in ("true", "True"):
        return True
    if tok in ("false", "False"):
        return False
    if re.match(r"^-?[0-9]+$", tok):
        return int(tok)
    try:
        return float(tok)
    except ValueError:
        pass
    if re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", tok):
        return tok   # an enum identifier
    raise ConfigError(f"{source}:{line}: expected a value (a quoted string, a number, true or "
                      f"false). Received {tok!r}. Fix: quote strings with \"...\".")


def _check(fields: list, allowed: dict[str, type], where: str, source: str) -> None:
    for f in fields:
        if f.name not in allowed:
            raise ConfigError(f"{source}:{f.line}: expected one of the fields "
                              f"{sorted(allowed)} in {where}. Received {f.name!r}. Fix: remove "
                              f"it or check its spelling (savepoint serve reads this subset of "
                              f"TF Serving's config).")
        kind = allowed[f.name]
        ok = isinstance(f.value, list) if kind is list else (
            isinstance(f.value, kind) and not (kind is int and isinstance(f.value, bool)))
        if not ok:
            expected = "a message { ... }" if kind is list else kind.__name__
            raise ConfigError(f"{source}:{f.line}: expected {f.name!r} in {where} to be "
                              f"{expected}. Received {f.value!r}. Fix: write "
                              + (f"{f.name} {{ ... }}." if kind is list else
                                 f"{f.name}: <{kind.__name__}>."))


def parse_model_config(text: str, source: str = "--model_config_file") -> list[ModelConfig]:
    """The models of a ``ModelServerConfig`` text proto (``model_config_list { config {...} }``).

    Example:
        >>> parse_model_config('model_config_list { config { name: "a" } }')
        Traceback (most recent call last):
        savepoint.errors.ConfigError: --model_config_file:1: expected 'base_path' in config 'a'.
        Received no base_path. Fix: add base_path: "/models/a".
    """
    top = parse_text_proto(text, source)
    _check(top, {"model_config_list": list}, "the ModelServerConfig", source)
    configs: list[ModelConfig] = []
    for lst in top:
        _check(lst.value, {"config": list}, "model_config_list", source)
        configs += [_model_config(c, source) for c in lst.value]
    if not configs:
        raise ConfigError(f"{source}: expected at least one model_config_list {{ config {{ ... "
                          f"}} }}. Received none. Fix: add a config with name and base_path.")
    names = [c.name for c in configs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: expected distinct model names. Received {dupes} more than "
                          f"once. Fix: give each config its own name.")
    return configs


def _model_config(cfg: Field, source: str) -> ModelConfig:
    _check(cfg.value, {"name": str, "base_path": str, "model_platform": str,
                       "model_version_policy": list, "version_labels": list}, "config", source)
    values = {f.name: f.value for f in cfg.value}
    name = values.get("name")
    if not name:
        raise ConfigError(f"{source}:{cfg.line}: expected a non-empty 'name' in config. "
                          f"Received {name!r}. Fix: add name: \"my_model\".")
    if not values.get("base_path"):
        raise ConfigError(f"{source}:{cfg.line}: expected 'base_path' in config {name!r}. "
                          f"Received no base_path. Fix: add base_path: \"/models/{name}\".")
    platform = values.get("model_platform", "tensorflow")
    if platform != "tensorflow":
        raise ConfigError(f"{source}:{cfg.line}: expected model_platform \"tensorflow\" for "
                          f"{name!r}. Received {platform!r}. Fix: serve SavedModel/savepoint "
                          f"model directories with model_platform: \"tensorflow\".")
    labels: dict[str, int] = {}
    for f in cfg.value:
        if f.name == "version_labels":
            _check(f.value, {"key": str, "value": int}, "version_labels", source)
            kv = {g.name: g.value for g in f.value}
            if "key" not in kv or "value" not in kv:
                raise ConfigError(f"{source}:{f.line}: expected version_labels {{ key: \"stable"
                                  f"\" value: 1 }}. Received {sorted(kv)}. Fix: give both.")
            labels[kv["key"]] = kv["value"]
    policy = ("latest", 1)
    if "model_version_policy" in values:
        policy = _version_policy(values["model_version_policy"], cfg.line, source)
    return ModelConfig(name, values["base_path"], platform, policy, labels)


def _version_policy(fields: list, line: int, source: str) -> tuple:
    _check(fields, {"latest": list, "all": list, "specific": list}, "model_version_policy",
           source)
    if len(fields) != 1:
        raise ConfigError(f"{source}:{line}: expected one of latest/all/specific in "
                          f"model_version_policy. Received {[f.name for f in fields]}. Fix: "
                          f"keep one.")
    kind = fields[0]
    if kind.name == "latest":
        _check(kind.value, {"num_versions": int}, "latest", source)
        n = next((f.value for f in kind.value), 1)
        if n < 1:
            raise ConfigError(f"{source}:{kind.line}: expected num_versions >= 1. Received {n}. "
                              f"Fix: serve at least one version.")
        return ("latest", n)
    if kind.name == "all":
        _check(kind.value, {}, "all", source)
        return ("all",)
    _check(kind.value, {"versions": int}, "specific", source)
    versions = tuple(f.value for f in kind.value)
    if not versions:
        raise ConfigError(f"{source}:{kind.line}: expected at least one 'versions: N' in "
                          f"specific. Received none. Fix: list the versions to serve.")
    return ("specific", versions)


_BATCHING_FIELDS = {"max_batch_size", "batch_timeout_micros", "num_batch_threads",
                    "max_enqueued_batches"}


def parse_batching_parameters(text: str, source: str = "--batching_parameters_file"
                              ) -> BatchingParameters:
    """TF Serving's ``BatchingParameters`` text proto; each field as ``f { value: N }`` (the
    wrapper TF Serving writes) or ``f: N``.

    Example:
        >>> parse_batching_parameters("allowed_batch_sizes: 8")
        Traceback (most recent call last):
        savepoint.errors.ConfigError: --batching_parameters_file:1: expected one of the fields
        ['batch_timeout_micros', 'max_batch_size', 'max_enqueued_batches', 'num_batch_threads'] in
        BatchingParameters. Received 'allowed_batch_sizes'. Fix: remove it or check ...
    """
    params = BatchingParameters()
    for f in parse_text_proto(text, source):
        _check([f], dict.fromkeys(_BATCHING_FIELDS, list if isinstance(f.value, list) else int),
               "BatchingParameters", source)
        value = f.value
        if isinstance(value, list):
            _check(value, {"value": int}, f.name, source)
            value = next((g.value for g in value), 0)
        minimum = 0 if f.name in ("batch_timeout_micros", "num_batch_threads") else 1
        if value < minimum:
            raise ConfigError(f"{source}:{f.line}: expected {f.name} >= {minimum}. Received "
                              f"{value}. Fix: use a "
                              f"{'non-negative' if minimum == 0 else 'positive'} value.")
        setattr(params, f.name, value)
    return params


__all__ = ["BatchingParameters", "Field", "ModelConfig", "parse_batching_parameters",
           "parse_model_config", "parse_text_proto"]
