"""TensorBoard event files without TensorFlow: TFRecord framing (masked crc32c), and the
``Event``/``Summary``/``TensorProto`` protos that ``tf.summary`` writes for scalars, histograms
and the Keras model graph, byte for byte as TensorFlow 2.21 serializes them.

Example:
    >>> import os, tempfile
    >>> writer = EventFileWriter(tempfile.mkdtemp())
    >>> writer.scalar("epoch_loss", 0.5, step=0); writer.close()
    >>> os.path.basename(writer.path).startswith("events.out.tfevents.")
    True
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

import numpy as np

from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import crc
from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint.proto import iter_fields, put_int, put_len, put_str

DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7
DEFAULT_BUCKET_COUNT = 30  # tensorboard.plugins.histogram.summary_v2.DEFAULT_BUCKET_COUNT
_FILE_COUNTER = [0]


def tfrecord(data: bytes) -> bytes:
    """One TFRecord: little-endian uint64 length, masked crc32c of those 8 bytes, the data,
    masked crc32c of the data.

    Example:
        >>> len(tfrecord(b"abc"))
        19
    """
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", crc.mask(crc.value(header))) + data +
            struct.pack("<I", crc.mask(crc.value(data))))


def _shape(dims: tuple[int, ...]) -> bytes:
    out = bytearray()
    for d in dims:  # TensorShapeProto.dim (2) -> Dim.size (1)
        dim = bytearray()
        put_int(dim, 1, int(d))
        put_len(out, 2, dim)
    return bytes(out)


def tensor_proto(dtype: int, dims: tuple[int, ...], content: bytes | None = None,
                 strings: list[bytes] | None = None) -> bytes:
    """``TensorProto{dtype, tensor_shape, tensor_content | string_val}``.

    Example:
        >>> tensor_proto(DT_FLOAT, (), struct.pack("<f", 1.0)).hex()
        '0801120022040000803f'
    """
    out = bytearray()
    put_int(out, 1, dtype)
    put_len(out, 2, _shape(dims))
    if content is not None:
        put_len(out, 4, content)
    for s in strings or ():
        put_len(out, 8, s)
    return bytes(out)


def _metadata(plugin_name: str, content: bytes = b"") -> bytes:
    plugin = bytearray()
    put_str(plugin, 1, plugin_name)
    if content:
        put_len(plugin, 2, content)
    out = bytearray()
    put_len(out, 1, plugin)
    return bytes(out)


def summary_value(tag: str, tensor: bytes, plugin_name: str, content: bytes = b"") -> bytes:
    """``Summary{value: [Value{tag, tensor, metadata{plugin_data{plugin_name, content}}}]}``
    in TensorFlow's field order (tag 1, tensor 8, metadata 9).

    Example:
        >>> summary_value("x", tensor_proto(DT_FLOAT, (), b"\\0\\0\\0\\0"), "scalars")[:2].hex()
        '0a1c'
    """
    value = bytearray()
    put_str(value, 1, tag)
    put_len(value, 8, tensor)
    put_len(value, 9, _metadata(plugin_name, content))
    out = bytearray()
    put_len(out, 1, value)
    return bytes(out)


def scalar_summary(tag: str, value: float) -> bytes:
    """A ``tf.summary.scalar`` summary: float32 tensor, plugin ``scalars``.

    Example:
        >>> scalar_summary("epoch_loss", 2.5).hex()[-18:]
        '0a077363616c617273'
    """
    return summary_value(tag, tensor_proto(DT_FLOAT, (), struct.pack("<f", float(value))),
                         "scalars")


def histogram_buckets(data: Any, bucket_count: int = DEFAULT_BUCKET_COUNT) -> np.ndarray:
    """``[k, 3]`` float64 rows ``(left_edge, right_edge, count)`` computed as TensorBoard's
    ``histogram`` summary does (equal-width buckets from min to max; a single value puts every
    count in the last bucket; empty data gives zeros).

    Example:
        >>> histogram_buckets(np.array([0.0, 1.0, 1.0]), 2).tolist()
        [[0.0, 0.5, 1.0], [0.5, 1.0, 2.0]]
    """
    data = np.asarray(data, dtype=np.float64).reshape(-1)
    bucket_count = max(0, int(bucket_count))
    if data.size == 0 or bucket_count == 0:
        return np.zeros((bucket_count, 3), np.float64)
    low, high = data.min(), data.max()
    span = high - low
    if span == 0:
        counts = np.zeros(bucket_count, np.float64)
        counts[-1] = data.size
        edges = np.full(bucket_count, high)
        return np.stack([edges, edges, counts], axis=1)
    width = span / np.float64(bucket_count)
    index = np.minimum(np.floor((data - low) / width).astype(np.int32), bucket_count - 1)
    counts = np.bincount(index, minlength=bucket_count).astype(np.float64)
    edges = np.linspace(low, high, bucket_count + 1)
    edges[-1] = high
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def histogram_summary(tag: str, data: Any, buckets: int | None = None) -> bytes:
    """A ``tf.summary.histogram`` summary: a float64 ``[k, 3]`` tensor, plugin ``histograms``.

    Example:
        >>> len(histogram_summary("h", np.arange(4.0), 2)) > 48
        True
    """
    table = histogram_buckets(data, DEFAULT_BUCKET_COUNT if buckets is None else buckets)
    return summary_value(tag, tensor_proto(DT_DOUBLE, table.shape, table.astype("<f8").tobytes()),
                         "histograms")


def keras_model_summary(tag: str, model_json: str) -> bytes:
    """The ``keras`` summary tf.keras writes for the graph dashboard: the model's JSON as a
    string tensor, plugin ``graph_keras_model`` (content ``b"1"``).

    Example:
        >>> b"graph_keras_model" in keras_model_summary("keras", "{}")
        True
    """
    return summary_value(tag, tensor_proto(DT_STRING, (), strings=[model_json.encode()]),
                         "graph_keras_model", b"1")


def event(step: int, wall_time: float | None = None, summary: bytes | None = None,
          file_version: str | None = None) -> bytes:
    """``Event{wall_time, step, file_version | summary}``.

    Example:
        >>> event(0, 1.0, file_version="brain.Event:2").hex()[:18]
        '09000000000000f03f'
    """
    out = bytearray()
    out += b"\x09" + struct.pack("<d", time.time() if wall_time is None else wall_time)
    put_int(out, 2, int(step))
    if file_version is not None:
        put_str(out, 3, file_version)
    if summary is not None:
        put_len(out, 5, summary)
    return bytes(out)


class EventFileWriter:
    """Appends events to ``<logdir>/events.out.tfevents.<time>.<host>.<pid>.<n>.v2`` (the name
    TensorFlow gives its files); records are buffered and written through ``storage`` on
    ``flush`` (every ``flush_every`` records, and at ``close``).

    Example:
        >>> import tempfile
        >>> w = EventFileWriter(tempfile.mkdtemp()); w.histogram("h", [1.0, 2.0], step=1)
        >>> w.close()
    """

    def __init__(self, logdir: str, flush_every: int = 200):
        storage.makedirs(logdir)
        _FILE_COUNTER[0] += 1
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{_FILE_COUNTER[0]}.v2")
        self.path = os.path.join(logdir, name)
        self.flush_every = flush_every
        self._pending: list[bytes] = [tfrecord(event(0, file_version="brain.Event:2"))]
        self.flush()

    def add(self, summary: bytes, step: int) -> None:
        """Queue one summary event at ``step``."""
        self._pending.append(tfrecord(event(step, summary=summary)))
        if len(self._pending) >= self.flush_every:
            self.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        """Queue a scalar."""
        self.add(scalar_summary(tag, value), step)

    def histogram(self, tag: str, data: Any, step: int, buckets: int | None = None) -> None:
        """Queue a histogram of ``data``."""
        self.add(histogram_summary(tag, data, buckets), step)

    def flush(self) -> None:
        """Append the queued records to the file."""
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            storage.append_bytes(self.path, data)

    def close(self) -> None:
        """Write what is queued."""
        self.flush()


def read_events(path: str) -> list[dict]:
    """Decode an event file (checking every record's crc32c): one dict per event with
    ``step``, ``wall_time``, ``file_version`` and ``values`` (``tag``, ``plugin``, ``dtype``,
    ``shape``, ``array`` or ``strings``), for tests and tools.

    Example:
        >>> import tempfile
        >>> w = EventFileWriter(tempfile.mkdtemp()); w.scalar("a", 1.5, 3); w.close()
        >>> [(e["step"], v["tag"], float(v["array"])) for e in read_events(w.path)[1:]
        ...  for v in e["values"]]
        [(3, 'a', 1.5)]
    """
    data, pos, out = storage.read_bytes(path), 0, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise FormatError(f"Truncated TFRecord header at offset {pos} of {path}.")
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        body = data[pos + 12:pos + 12 + length]
        tail = data[pos + 12 + length:pos + 16 + length]
        if hcrc != crc.mask(crc.value(header)) or len(body) != length or len(tail) != 4 or \
                struct.unpack("<I", tail)[0] != crc.mask(crc.value(body)):
            raise FormatError(f"Expected a TFRecord with matching crc32c at offset {pos} of "
                              f"{path}. Received a damaged or truncated record.")
        out.append(_decode_event(body, path))
        pos += 16 + length
    return out


def _decode_event(body: bytes, where: str) -> dict:
    event_dict: dict[str, Any] = {"step": 0, "wall_time": 0.0, "file_version": "",
                                  "values": []}
    for number, _, value in iter_fields(body, where):
        if number == 1:
            event_dict["wall_time"] = struct.unpack("<d", int(value).to_bytes(8, "little"))[0]
        elif number == 2:
            event_dict["step"] = int(value)
        elif number == 3:
            event_dict["file_version"] = bytes(value).decode()
        elif number == 5:
            for n, _, v in iter_fields(value, where):
                if n == 1:
                    event_dict["values"].append(_decode_value(v, where))
    return event_dict


def _decode_value(buf: Any, where: str) -> dict:
    out: dict[str, Any] = {"tag": "", "plugin": "", "dtype": 0, "shape": (), "strings": []}
    content = None
    for number, _, value in iter_fields(buf, where):
        if number == 1:
            out["tag"] = bytes(value).decode()
        elif number == 9:
            for n, _, v in iter_fields(value, where):
                if n == 1:
                    for m, _, w in iter_fields(v, where):
                        if m == 1:
                            out["plugin"] = bytes(w).decode()
        elif number == 8:
            for n, _, v in iter_fields(value, where):
                if n == 1:
                    out["dtype"] = int(v)
                elif n == 2:
                    out["shape"] = tuple(int(size) for d, _, dim in iter_fields(v, where)
                                         if d == 2 for m, _, size in iter_fields(dim, where)
                                         if m == 1)
                elif n == 4:
                    content = bytes(v)
                elif n == 8:
                    out["strings"].append(bytes(v))
    if content is not None and out["dtype"] in (DT_FLOAT, DT_DOUBLE):
        dtype = "<f4" if out["dtype"] == DT_FLOAT else "<f8"
        out["array"] = np.frombuffer(content, dtype).reshape(out["shape"])
    return out


__all__ = ["EventFileWriter", "read_events", "tfrecord", "event", "scalar_summary", "histogram_summary",
           "histogram_buckets", "keras_model_summary", "tensor_proto", "summary_value"]
