"""Reading the pickles inside Keras's dataset files (CIFAR batches, the object arrays of
``imdb.npz``/``reuters.npz``) as data: a parser of the pickle opcodes, not the ``pickle`` module.

Only containers, scalars, strings and numpy arrays can be built: the opcodes that name a global
accept numpy's array-rebuilding names and ``_codecs.encode`` and build the value themselves
(dtype, shape and raw bytes); nothing is imported or called from the file. Any other global or
opcode is a ``FormatError``.

Example:
    >>> import numpy as np, pickle as std  # the standard module only makes the example's bytes
    >>> loads(std.dumps({"a": np.arange(3)}))["a"].tolist()
    [0, 1, 2]
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from savepoint.errors import FormatError
from savepoint.saving import storage

_GLOBALS = {("numpy.core.multiarray", "_reconstruct"): "reconstruct",
            ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
            ("numpy.core.multiarray", "scalar"): "scalar",
            ("numpy._core.multiarray", "scalar"): "scalar",
            ("numpy", "ndarray"): "ndarray", ("numpy", "dtype"): "dtype",
            ("numpy.core.numeric", "_frombuffer"): "frombuffer",  # protocol 5
            ("numpy._core.numeric", "_frombuffer"): "frombuffer",
            ("_codecs", "encode"): "encode"}  # how protocol-2 pickles from Python 3 spell bytes
_MARK = object()


class _Array:
    """An array being rebuilt: ``_reconstruct(...)`` then ``BUILD`` with its state."""

    value: Any = None


class _Dtype:
    def __init__(self, name: str) -> None:
        self.value = np.dtype(name)


def _refuse(detail: str) -> FormatError:
    return FormatError(f"Expected a pickle of numpy arrays, lists and dicts. Received one that "
                       f"{detail}, which savepoint does not load (no code runs on load). Fix: "
                       f"delete the file so it is downloaded again.")


class _Parser:
    def __init__(self, data: bytes, encoding: str) -> None:
        self.f, self.encoding = io.BytesIO(data), encoding
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}

    def read(self, n: int) -> bytes:
        out = self.f.read(n)
        if len(out) != n:
            raise EOFError("truncated pickle")
        return out

    def line(self) -> bytes:
        out = self.f.readline()
        if not out.endswith(b"\n"):
            raise EOFError("truncated pickle")
        return out[:-1]

    def pop_mark(self) -> list[Any]:
        # by identity: == on a numpy array on the stack is elementwise
        i = max(k for k, item in enumerate(self.stack) if item is _MARK)
        items = self.stack[i + 1:]
        del self.stack[i:]
        return items

    def text(self, raw: bytes) -> Any:
        return raw if self.encoding == "bytes" else raw.decode(self.encoding)

    def run(self) -> Any:
        while True:
            op = self.read(1)
            if op == b".":
                return _value(self.stack.pop())
            handler = _OPS.get(op)
            if handler is None:
                raise _refuse(f"uses opcode {op!r}")
            handler(self)


def _global(p: _Parser, module: str, name: str) -> None:
    kind = _GLOBALS.get((module, name))
    if kind is None:
        raise _refuse(f"names {module}.{name}")
    p.stack.append(kind)


def _reduce(p: _Parser) -> None:
    args, kind = p.stack.pop(), p.stack.pop()
    if kind == "reconstruct":
        p.stack.append(_Array())
    elif kind == "dtype":
        p.stack.append(_Dtype(_str(args[0])))
    elif kind == "scalar":
        dtype, raw = _value(args[0]), args[1]
        p.stack.append(np.frombuffer(_bytes(raw), dtype=dtype, count=1)[0])
    elif kind == "frombuffer":
        raw, dtype, shape, order = args
        p.stack.append(np.frombuffer(_bytes(raw), dtype=_value(dtype))
                       .reshape(shape, order=order).copy())
    elif kind == "encode":
        p.stack.append(args[0].encode(args[1]))
    else:
        raise _refuse(f"calls {kind!r}")


def _build(p: _Parser) -> None:
    state, target = p.stack.pop(), p.stack[-1]
    if isinstance(target, _Dtype):
        if state[1] in ("<", ">"):
            target.value = target.value.newbyteorder(state[1])
    elif isinstance(target, _Array):
        _, shape, dtype, fortran, raw = state
        dtype, order = _value(dtype), "F" if fortran else "C"
        if dtype.hasobject:
            array = np.empty(len(raw), dtype=object)
            array[:] = [_value(v) for v in raw]
            target.value = array.reshape(shape, order=order)
        else:
            target.value = np.frombuffer(_bytes(raw), dtype=dtype).reshape(shape, order=order).copy()
    else:
        raise _refuse(f"sets the state of a {type(target).__name__}")


def _str(value: Any) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else value


def _bytes(value: Any) -> bytes:
    return value.encode("latin1") if isinstance(value, str) else bytes(value)


def _value(value: Any) -> Any:
    """Resolve the builders left inside containers to the values they built."""
    if isinstance(value, (_Array, _Dtype)):
        return value.value
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_value(v) for v in value)
    if isinstance(value, dict):
        return {_value(k): _value(v) for k, v in value.items()}
    return value


def _push(fn: Callable[[_Parser], Any]) -> Callable[[_Parser], None]:
    return lambda p: p.stack.append(fn(p))


def _setitems(p: _Parser) -> None:
    items = p.pop_mark()
    target = p.stack[-1]
    for k, v in zip(items[::2], items[1::2]):
        target[_value(k)] = v


def _setitem(p: _Parser) -> None:
    v, k = p.stack.pop(), p.stack.pop()
    p.stack[-1][_value(k)] = v


def _unpack(fmt: str) -> Callable[[_Parser], Any]:
    size = struct.calcsize(fmt)
    return lambda p: struct.unpack(fmt, p.read(size))[0]


def _sized(fmt: str, convert: Callable[[_Parser, bytes], Any]) -> Callable[[_Parser], None]:
    length = _unpack(fmt)
    return _push(lambda p: convert(p, p.read(length(p))))


def _memo_put(index: Callable[[_Parser], int]) -> Callable[[_Parser], None]:
    def put(p: _Parser) -> None:
        p.memo[index(p)] = p.stack[-1]
    return put


def _memo_get(index: Callable[[_Parser], int]) -> Callable[[_Parser], None]:
    def get(p: _Parser) -> None:
        try:
            p.stack.append(p.memo[index(p)])
        except KeyError:
            raise FormatError("Expected a memo entry the pickle stored. Received a reference "
                              "to none. The file is damaged.") from None
    return get


def _tuple(n: int) -> Callable[[_Parser], None]:
    def build(p: _Parser) -> None:
        items = p.stack[len(p.stack) - n:]
        del p.stack[len(p.stack) - n:]
        p.stack.append(tuple(items))
    return build


def _appends(p: _Parser) -> None:
    items = p.pop_mark()
    p.stack[-1].extend(items)


def _int_line(raw: bytes) -> Any:
    """Protocol 0's INT: ``00``/``01`` are Python 2's False/True."""
    return {b"00": False, b"01": True}[raw] if raw in (b"00", b"01") else int(raw)


def _long(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


_OPS: dict[bytes, Callable[[_Parser], None]] = {
    b"\x80": lambda p: p.read(1), b"\x95": lambda p: p.read(8),  # PROTO, FRAME
    b"(": lambda p: p.stack.append(_MARK), b"0": lambda p: p.stack.pop(),
    b"}": _push(lambda p: {}), b"]": _push(lambda p: []), b")": _push(lambda p: ()),
    b"t": lambda p: p.stack.append(tuple(p.pop_mark())),
    b"l": lambda p: p.stack.append(list(p.pop_mark())),
    b"d": lambda p: p.stack.append(dict(zip(*[iter(p.pop_mark())] * 2))),
    b"\x85": _tuple(1), b"\x86": _tuple(2), b"\x87": _tuple(3),
    b"a": lambda p: p.stack[-2].append(p.stack.pop()), b"e": _appends,
    b"s": _setitem, b"u": _setitems,
    b"N": _push(lambda p: None), b"\x88": _push(lambda p: True), b"\x89": _push(lambda p: False),
    b"J": _push(_unpack("<i")), b"K": _push(_unpack("<B")), b"M": _push(_unpack("<H")),
    b"I": _push(lambda p: _int_line(p.line())),
    b"L": _push(lambda p: int(p.line().rstrip(b"L"))),
    b"\x8a": _sized("<B", lambda p, raw: _long(raw)), b"\x8b": _sized("<i", lambda p, raw: _long(raw)),
    b"V": _push(lambda p: p.line().decode("raw-unicode-escape")),
    b"S": _push(lambda p: p.text(codecs.escape_decode(p.line()[1:-1])[0])),
    b"G": _push(_unpack(">d")), b"F": _push(lambda p: float(p.line())),
    b"T": _sized("<i", lambda p, raw: p.text(raw)), b"U": _sized("<B", lambda p, raw: p.text(raw)),
    b"X": _sized("<I", lambda p, raw: raw.decode("utf-8")),
    b"\x8c": _sized("<B", lambda p, raw: raw.decode("utf-8")),
    b"\x8d": _sized("<Q", lambda p, raw: raw.decode("utf-8")),
    b"B": _sized("<I", lambda p, raw: raw), b"C": _sized("<B", lambda p, raw: raw),
    b"\x8e": _sized("<Q", lambda p, raw: raw), b"\x96": _sized("<Q", lambda p, raw: raw),
    b"c": lambda p: _global(p, p.line().decode("utf-8"), p.line().decode("utf-8")),
    b"\x93": lambda p: _global(p, *reversed([_str(p.stack.pop()), _str(p.stack.pop())])),
    b"R": _reduce, b"b": _build,
    b"q": _memo_put(_unpack("<B")), b"r": _memo_put(_unpack("<I")),
    b"p": _memo_put(lambda p: int(p.line())), b"\x94": lambda p: p.memo.__setitem__(len(p.memo), p.stack[-1]),
    b"h": _memo_get(_unpack("<B")), b"j": _memo_get(_unpack("<I")),
    b"g": _memo_get(lambda p: int(p.line())),
}


def loads(data: bytes | BinaryIO, encoding: str = "ASCII") -> Any:
    """Parse ``data`` allowing only numpy arrays and Python containers/scalars.

    ``encoding`` decodes Python 2 strings as ``pickle.loads`` does (``"bytes"`` keeps them).

    Example:
        >>> import pickle as std
        >>> loads(std.dumps([1, "a", (2.5, None)], protocol=0))
        [1, 'a', (2.5, None)]
    """
    raw = data if isinstance(data, (bytes, bytearray)) else data.read()
    try:
        return _Parser(bytes(raw), encoding).run()
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - any malformed pickle is a damaged file
        raise FormatError(f"Expected a readable pickle of numpy arrays. Received damaged data "
                          f"({type(e).__name__}: {e}). Fix: delete the file so it is "
                          f"downloaded again.") from None


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; object arrays go through ``loads`` (numpy would need
    ``allow_pickle=True``, which runs arbitrary code).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> np.savez(p, x=np.array([[1], [2, 3]], dtype=object), y=np.arange(2))
        >>> [len(v) for v in load_npz(p)["x"]]
        [1, 2]
    """
    out: dict[str, np.ndarray] = {}
    try:
        with storage.open_read(path) as raw, zipfile.ZipFile(raw) as archive:
            for member in archive.namelist():
                key = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as f:
                    out[key] = _read_npy(f, path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FormatError(f"Expected a readable .npz file. Received {path!r}, which cannot be "
                          f"read ({e}). Fix: delete it so it is downloaded again.") from None
    return out


def _read_npy(f: BinaryIO, path: str) -> np.ndarray:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        array = loads(f.read())
        if not isinstance(array, np.ndarray):
            raise FormatError(f"Expected an object array in {path}. Received "
                              f"{type(array).__name__}.")
        return array
    data = f.read()
    count = int(np.prod(shape)) if shape else 1
    if len(data) < count * dtype.itemsize:
        raise FormatError(f"Expected {count * dtype.itemsize} bytes for an array of shape "
                          f"{shape} in {path}. Received {len(data)}. The file is truncated.")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


__all__ = ["loads", "load_npz"]
