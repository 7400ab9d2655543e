"""The ``checkpoint`` state file: TensorFlow's ``CheckpointState`` proto in protobuf text format.

A directory of checkpoints holds a file named ``checkpoint`` such as::

    model_checkpoint_path: "ckpt-4"
    all_model_checkpoint_paths: "ckpt-3"
    all_model_checkpoint_paths: "ckpt-4"
    all_model_checkpoint_timestamps: 1795695618.5011528
    all_model_checkpoint_timestamps: 1795695618.5112896
    last_preserved_timestamp: 1795695617.4749908

Paths are stored relative to the directory.
We write it exactly as ``text_format.MessageToString`` does and replace it atomically; the
parser accepts what protobuf's text parser accepts for this message (quotes, escapes, adjacent
string concatenation, ``[a, b]`` lists, ``#`` comments) and rejects anything else.

Damage: TensorFlow reads this file, so it cannot carry a checksum. Instead every state file we
read must be *consistent*, as every writer (ours and TensorFlow's) leaves it: a non-empty
``model_checkpoint_path`` that is one of ``all_model_checkpoint_paths`` (when listed), and one
timestamp per path (when any). Damage therefore either still parses to such a state (then it
names a checkpoint whose own checksums are verified when it is read) or raises ``FormatError``
naming the file. ``latest_checkpoint`` keeps TensorFlow's answer ``None`` for a consistent state
naming a checkpoint whose files are gone; ``resolve_latest`` (used by ``load_checkpoint`` and
``verify`` on a directory) raises ``CheckpointNotFoundError`` naming the state file instead.

Containment: a state file names checkpoints inside its own directory only (a relative name, a
name in a subdirectory, or an absolute path under the directory), because a ``CheckpointManager``
deletes what it names. Reading one that names a path outside (``../victim/cp``, an absolute path
elsewhere) raises ``FormatError`` naming the file and the path, from every reader here,
``latest_checkpoint`` included: it never returns an outside path. ``write_state`` refuses to
record such a path with ``ConfigError``. Containment is lexical (``..`` is resolved, symlinks
are not followed).

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_state(d, d + "/cp-0002.ckpt", [d + "/cp-0001.ckpt", d + "/cp-0002.ckpt"])
    >>> read_state(d).all_model_checkpoint_paths
    ['cp-0001.ckpt', 'cp-0002.ckpt']
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from savepoint.errors import CheckpointNotFoundError, ConfigError, FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint.layout import index_path

STATE_FILENAME = "checkpoint"
_LATEST_ROUNDS = 8
_STRING_FIELDS = ("model_checkpoint_path", "all_model_checkpoint_paths")
_FLOAT_FIELDS = ("all_model_checkpoint_timestamps", "last_preserved_timestamp")
_REPEATED = ("all_model_checkpoint_paths", "all_model_checkpoint_timestamps")


@dataclass
class CheckpointState:
    """``tensorflow.CheckpointState``; paths exactly as stored (usually relative to the dir)."""

    model_checkpoint_path: str = ""
    all_model_checkpoint_paths: list[str] = field(default_factory=list)
    all_model_checkpoint_timestamps: list[float] = field(default_factory=list)
    last_preserved_timestamp: Optional[float] = None


# ----------------------------------------------------------------------------- writing
def _escape(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\"'\\":
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(ch)
    return "".join(out)


def _format_float(value: float) -> str:
    return "nan" if math.isnan(value) else repr(float(value))


def format_state(state: CheckpointState) -> str:
    """The text ``text_format.MessageToString`` produces for ``state``.

    Example:
        >>> print(format_state(CheckpointState("cp.ckpt", ["cp.ckpt"])), end="")
        model_checkpoint_path: "cp.ckpt"
        all_model_checkpoint_paths: "cp.ckpt"
    """
    lines = []
    if state.model_checkpoint_path:
        lines.append(f'model_checkpoint_path: "{_escape(state.model_checkpoint_path)}"')
    lines += [f'all_model_checkpoint_paths: "{_escape(p)}"'
              for p in state.all_model_checkpoint_paths]
    lines += [f"all_model_checkpoint_timestamps: {_format_float(t)}"
              for t in state.all_model_checkpoint_timestamps]
    if state.last_preserved_timestamp is not None and state.last_preserved_timestamp != 0:
        lines.append(f"last_preserved_timestamp: {_format_float(state.last_preserved_timestamp)}")
    return "".join(line + "\n" for line in lines)


def _relative_to(path: str, directory: str) -> str:
    """Rewrite ``path`` relative to ``directory`` the way TensorFlow's state writer does."""
    if os.path.isabs(path):
        return os.path.relpath(path, directory)
    if not os.path.isabs(directory):
        return os.path.relpath(path, directory)
    return path  # relative path with an absolute directory: already relative to it


def is_inside(path: str, directory: str) -> bool:
    """Whether checkpoint prefix ``path`` (absolute, or relative to ``directory``) lies strictly
    inside ``directory``, after resolving ``..`` (symlinks are not followed).

    Example:
        >>> [is_inside(p, "/ckpts") for p in ("cp-1", "sub/cp-1", "/ckpts/cp-1", "../v/cp",
        ...                                    "/elsewhere/cp", ".")]
        [True, True, True, False, False, False]
        >>> [is_inside(p, "s3://b/ckpts") for p in ("cp-1", "s3://b/ckpts/cp-1", "../cp",
        ...                                          "s3://other/ckpts/cp-1", "/ckpts/cp-1")]
        [True, True, False, False, False]
    """
    if "://" in os.fspath(directory) or "://" in os.fspath(path):
        return _url_inside(os.fspath(path), os.fspath(directory))
    base = os.path.abspath(os.fspath(directory))
    target = os.path.abspath(os.path.join(base, os.fspath(path)))
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows)
        return False
    return rel not in (os.curdir, os.pardir) and not rel.startswith(os.pardir + os.sep)


def _url_inside(path: str, directory: str) -> bool:
    """``is_inside`` for URLs (``os.path.abspath`` would fold ``s3://`` into a local path): same
    scheme, and strictly below the directory's key prefix after resolving ``..``."""
    import posixpath
    d_scheme, d_rest = storage.split_url(directory)
    p_scheme, p_rest = storage.split_url(path)
    if p_scheme is None:  # relative to the directory, unless absolute
        if posixpath.isabs(path) or d_scheme is None:
            return False
        p_scheme, p_rest = d_scheme, posixpath.join(d_rest, path)
    base, target = posixpath.normpath(d_rest), posixpath.normpath(p_rest)
    return p_scheme == d_scheme and target.startswith(base.rstrip("/") + "/")


def write_state(directory: str, model_checkpoint_path: str,
                all_model_checkpoint_paths: Optional[Sequence[str]] = None,
                all_model_checkpoint_timestamps: Optional[Sequence[float]] = None,
                last_preserved_timestamp: Optional[float] = None,
                filename: str = STATE_FILENAME) -> None:
    """Atomically replace ``<directory>/checkpoint`` (TensorFlow's ``update_checkpoint_state``).

    Paths are given as TensorFlow takes them (e.g. ``"training_1/cp.ckpt"`` or absolute) and
    stored relative to ``directory``. ``model_checkpoint_path`` is appended to the list when it
    is not its last element. A path outside ``directory`` raises ``ConfigError`` (a manager
    would later delete what the file names) and leaves the file as it was.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> write_state(d, os.path.join(d, "cp.ckpt"))
        >>> storage.read_text(os.path.join(d, "checkpoint"))
        'model_checkpoint_path: "cp.ckpt"\\nall_model_checkpoint_paths: "cp.ckpt"\\n'
    """
    directory = os.fspath(directory)
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    stamps = [float(t) for t in all_model_checkpoint_timestamps or []]
    if stamps and len(stamps) != len(paths):
        raise ConfigError(f"Expected one timestamp per checkpoint path ({len(paths)}). Received "
                          f"{len(stamps)} timestamps. Fix: pass matching lists.")
    for given in [model_checkpoint_path, *paths]:
        if not is_inside(_relative_to(given, directory), directory):
            raise ConfigError(
                f"Expected checkpoint paths inside the state file's directory {directory!r}. "
                f"Received {given!r}, which lies outside it. Fix: save the checkpoint inside "
                f"{directory!r}, or record it in a state file in its own directory.")
    state = CheckpointState(_relative_to(model_checkpoint_path, directory),
                            [_relative_to(p, directory) for p in paths], stamps,
                            last_preserved_timestamp)
    storage.makedirs(directory)
    storage.replace_text_atomically(os.path.join(directory, filename), format_state(state))


# ----------------------------------------------------------------------------- parsing
_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)[fF]?
               |-?(?:inf|infinity|nan)\b)
  | (?P<punct>[:\[\],;])
""", re.VERBOSE | re.IGNORECASE)
_ESCAPES = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39,
            '"': 34, "?": 63}


def _unescape(body: str, where: str) -> str:
    raw = bytearray()
    i = 0
    data = body.encode("utf-8")
    while i < len(data):
        c = data[i]
        if c != 0x5C:
            raw.append(c)
            i += 1
            continue
        nxt = chr(data[i + 1])
        if nxt in _ESCAPES:
            raw.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            m = re.match(rb"[0-7]{1,3}", data[i + 1:])
            assert m
            raw.append(int(m.group(), 8) & 0xFF)
            i += 1 + len(m.group())
        elif nxt in "xX" and re.match(rb"[0-9a-fA-F]{1,2}", data[i + 2:]):
            m = re.match(rb"[0-9a-fA-F]{1,2}", data[i + 2:])
            assert m
            raw.append(int(m.group(), 16))
            i += 2 + len(m.group())
        else:
            raise FormatError(f"Invalid escape '\\{nxt}' in {where}.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"Expected UTF-8 paths in {where}. Received invalid bytes.") from None


def _tokenize(text: str, where: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            line = text.count("\n", 0, pos) + 1
            raise FormatError(f"Unexpected text {text[pos:pos + 20]!r} at line {line} of {where}. "
                              "Expected 'field: value' lines of a CheckpointState. Fix: delete "
                              "or repair the file (it is only an index of checkpoints).")
        if m.lastgroup != "space":
            tokens.append((m.lastgroup or "", m.group()))
        pos = m.end()
    return tokens


def _value(tokens: list[tuple[str, str]], i: int, name: str, where: str) -> tuple[object, int]:
    if name in _STRING_FIELDS:
        parts = []
        while i < len(tokens) and tokens[i][0] == "string":
            parts.append(_unescape(tokens[i][1][1:-1], where))
            i += 1
        if not parts:
            raise FormatError(f"Expected a quoted string for {name} in {where}. Received "
                              f"{tokens[i][1] if i < len(tokens) else 'end of file'!r}.")
        return "".join(parts), i
    if i < len(tokens) and tokens[i][0] in ("number", "ident"):
        text = tokens[i][1]
        for candidate in (text, text[:-1] if text[-1:] in "fF" else text):
            try:
                return float(candidate), i + 1
            except ValueError:
                pass
    raise FormatError(f"Expected a number for {name} in {where}. Received "
                      f"{tokens[i][1] if i < len(tokens) else 'end of file'!r}.")


def parse_state(text: str, where: str = "the checkpoint state file") -> CheckpointState:
    """Parse CheckpointState text; raise ``FormatError`` naming ``where`` on anything unexpected.

    Example:
        >>> parse_state('model_checkpoint_path: "a" "b"  # comment').model_checkpoint_path
        'ab'
    """
    tokens = _tokenize(text, where)
    state, i = CheckpointState(), 0
    while i < len(tokens):
        kind, name = tokens[i]
        if kind != "ident" or name not in _STRING_FIELDS + _FLOAT_FIELDS:
            raise FormatError(f"Unknown field {name!r} in {where}. Expected one of "
                              f"{', '.join(_STRING_FIELDS + _FLOAT_FIELDS)}.")
        if i + 1 >= len(tokens) or tokens[i + 1] != ("punct", ":"):
            raise FormatError(f"Expected ':' after {name} in {where}.")
        i += 2
        values = []
        if name in _REPEATED and i < len(tokens) and tokens[i] == ("punct", "["):
            i += 1
            while i < len(tokens) and tokens[i] != ("punct", "]"):
                value, i = _value(tokens, i, name, where)
                values.append(value)
                if i < len(tokens) and tokens[i] == ("punct", ","):
                    i += 1
            if i >= len(tokens):
                raise FormatError(f"Unterminated '[' list for {name} in {where}.")
            i += 1
        else:
            value, i = _value(tokens, i, name, where)
            values.append(value)
        if i < len(tokens) and tokens[i] in (("punct", ","), ("punct", ";")):
            i += 1
        if name in _REPEATED:
            getattr(state, name).extend(values)
        else:
            setattr(state, name, values[-1])
    return state


def read_state(directory: str, filename: str = STATE_FILENAME) -> Optional[CheckpointState]:
    """Parse ``<directory>/checkpoint``; ``None`` when there is no such file.

    Example:
        >>> import tempfile
        >>> read_state(tempfile.mkdtemp()) is None
        True
    """
    path = os.path.join(os.fspath(directory), filename)
    if not storage.exists(path):
        return None
    try:
        text = storage.read_text(path)
    except UnicodeDecodeError:
        raise FormatError(f"Expected UTF-8 text in {path!r}. Received binary data. Fix: delete "
                          "or repair the file.") from None
    state = parse_state(text, repr(path))
    _check_consistent(state, path)
    _check_contained(state, os.fspath(directory), path)
    return state


def _check_consistent(state: CheckpointState, path: str) -> None:
    paths, stamps = state.all_model_checkpoint_paths, state.all_model_checkpoint_timestamps
    problem = ""
    if not state.model_checkpoint_path:
        problem = "it names no model_checkpoint_path"
    elif paths and state.model_checkpoint_path not in paths:
        problem = (f"its model_checkpoint_path {state.model_checkpoint_path!r} is not among its "
                   f"all_model_checkpoint_paths")
    elif stamps and len(stamps) != len(paths):
        problem = f"it lists {len(paths)} checkpoint paths but {len(stamps)} timestamps"
    if problem:
        raise FormatError(f"The checkpoint state file {path!r} is damaged or inconsistent: "
                          f"{problem}. Expected the file a checkpoint save writes. Fix: delete "
                          f"it (it is only an index of checkpoints) or save a new checkpoint.")


def _check_contained(state: CheckpointState, directory: str, path: str) -> None:
    for named in [state.model_checkpoint_path, *state.all_model_checkpoint_paths]:
        if not is_inside(named, directory):
            raise FormatError(
                f"The checkpoint state file {path!r} names checkpoint {named!r}, which lies "
                f"outside its directory. Expected a checkpoint inside {directory!r} (a name "
                f"relative to it or an absolute path under it); savepoint refuses others "
                f"because pruning deletes the checkpoints a state file names. Fix: delete the "
                f"state file, or rewrite it to name checkpoints inside {directory!r}.")


def resolve_latest(directory: str, filename: str = STATE_FILENAME) -> str:
    """The prefix the state file of ``directory`` names; ``CheckpointNotFoundError`` naming the
    state file when there is none or its checkpoint's ``.index`` is missing.

    Example:
        >>> import tempfile
        >>> resolve_latest(tempfile.mkdtemp())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        savepoint.errors.CheckpointNotFoundError: ...
    """
    latest = latest_checkpoint(directory, filename)  # rereads a state file that moved on
    if latest is not None:
        return latest
    state = get_checkpoint_state(directory, filename)
    state_path = os.path.join(os.fspath(directory), filename)
    if state is None:
        raise CheckpointNotFoundError(
            f"Expected a checkpoint state file {state_path!r} in directory {directory!r}. "
            f"Received a directory without one. Fix: pass a checkpoint prefix.")
    if not storage.exists(index_path(state.model_checkpoint_path)):
        raise CheckpointNotFoundError(
            f"The checkpoint state file {state_path!r} names checkpoint "
            f"{state.model_checkpoint_path!r}, whose index file is missing. Fix: restore the "
            f"checkpoint's files, or delete the state file if they are gone for good.")
    return state.model_checkpoint_path


def get_checkpoint_state(directory: str,
                         filename: str = STATE_FILENAME) -> Optional[CheckpointState]:
    """Like :func:`read_state`, with relative paths joined to ``directory`` (TensorFlow's
    ``tf.train.get_checkpoint_state``).

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); write_state(d, os.path.join(d, "cp"))
        >>> get_checkpoint_state(d).model_checkpoint_path == os.path.join(d, "cp")
        True
    """
    state = read_state(directory, filename)
    if state is None:
        return None
    def join(p: str) -> str:  # a URL (TF writes gs://... names) is absolute too
        return p if os.path.isabs(p) or "://" in p else os.path.join(directory, p)
    state.model_checkpoint_path = join(state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [join(p) for p in state.all_model_checkpoint_paths]
    return state


def latest_checkpoint(directory: str, filename: str = STATE_FILENAME) -> Optional[str]:
    """The newest checkpoint prefix in ``directory`` if its ``.index`` exists, else ``None``
    (``tf.train.latest_checkpoint``). A damaged state file, or one naming a checkpoint outside
    ``directory``, raises ``FormatError``: an outside path is never returned.

    Example:
        >>> import tempfile
        >>> latest_checkpoint(tempfile.mkdtemp()) is None
        True
    """
    path = None
    for _ in range(_LATEST_ROUNDS):
        state = get_checkpoint_state(directory, filename)
        if state is None or not state.model_checkpoint_path:
            return None
        if state.model_checkpoint_path == path:
            return None  # named twice in a row and still without an index: it is gone
        path = state.model_checkpoint_path
        if storage.exists(index_path(path)):
            return path
        # A save may have moved the state file on and removed the staged copy it named
        # between our two looks (rewrite.py): read the state file again.
    return None
