"""A tiny protobuf wire codec and the tensor-bundle messages (BundleHeaderProto, BundleEntryProto).

Only what checkpoints need: varints (int32/int64/enum/bool, negatives as 10-byte two's
complement), length-delimited fields (bytes, strings, sub-messages, packed repeated) and
fixed32/fixed64. Encoding follows protobuf's canonical serializer: fields in number order,
proto3 zero scalars omitted, sub-messages written when present (even if empty), so our bytes
equal ``SerializeAsString()`` of TensorFlow. Decoding validates every length and varint and
raises ``FormatError`` naming what was being decoded; unknown fields are skipped as protobuf does.

Example:
    >>> data = encode_header(BundleHeader(num_shards=1, version=VersionDef(producer=1)))
    >>> data.hex()
    '08011a020801'
    >>> decode_header(data, "x.index").num_shards
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional, Union

from savepoint.errors import FormatError

Buffer = Union[bytes, bytearray, memoryview]

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1
MAX_RANK = 254  # TensorShape::MaxDimensions(): a longer shape can only be damage
MAX_ELEMENTS = (1 << 63) - 1  # a tensor's element count is an int64 in TensorFlow


# ----------------------------------------------------------------------------- wire: encoding
def put_varint(out: bytearray, value: int) -> None:
    """Append ``value`` as a base-128 varint (negatives as 64-bit two's complement).

    Example:
        >>> b = bytearray(); put_varint(b, 300); b.hex()
        'ac02'
    """
    if 0 <= value < 0x80:  # the common case: tags, dtypes, small dims
        out.append(value)
        return
    value &= _U64
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def varint_bytes(value: int) -> bytes:
    """``value`` as varint bytes.

    Example:
        >>> varint_bytes(1).hex()
        '01'
    """
    out = bytearray()
    put_varint(out, value)
    return bytes(out)


def put_tag(out: bytearray, number: int, wire_type: int) -> None:
    """Append the key of field ``number`` with ``wire_type``."""
    put_varint(out, (number << 3) | wire_type)


def put_int(out: bytearray, number: int, value: int, always: bool = False) -> None:
    """Append a varint field (omitted when zero, as proto3 does, unless ``always``)."""
    if value or always:
        put_tag(out, number, VARINT)
        put_varint(out, value)


def put_len(out: bytearray, number: int, payload: Buffer) -> None:
    """Append a length-delimited field (bytes, string or sub-message), even when empty."""
    put_tag(out, number, LEN)
    put_varint(out, len(payload))
    out += payload


def put_str(out: bytearray, number: int, text: str) -> None:
    """Append a string field (omitted when empty, as proto3 does)."""
    if text:
        put_len(out, number, text.encode("utf-8"))


def put_fixed32(out: bytearray, number: int, value: int) -> None:
    """Append a fixed32 field (omitted when zero)."""
    if value:
        put_tag(out, number, FIXED32)
        out += (value & 0xFFFFFFFF).to_bytes(4, "little")


# ----------------------------------------------------------------------------- wire: decoding
def read_varint(buf: Buffer, pos: int, where: str) -> tuple[int, int]:
    """Decode a varint at ``pos``; return ``(value, new_pos)``. Overruns raise FormatError.

    Example:
        >>> read_varint(b"\\xac\\x02", 0, "demo")
        (300, 2)
    """
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise FormatError(f"Truncated varint in {where}: expected more bytes at offset {pos}. "
                              "The file is damaged or not a TensorFlow checkpoint.")
        if shift >= 70:
            raise FormatError(f"Varint longer than 10 bytes in {where} at offset {pos}. "
                              "The file is damaged or not a TensorFlow checkpoint.")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7


def to_signed(value: int, bits: int = 64) -> int:
    """Reinterpret an unsigned varint value as a signed integer of ``bits`` bits.

    Example:
        >>> to_signed(2**64 - 1)
        -1
    """
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def element_count(shape: tuple[int, ...], where: str) -> int:
    """The number of elements of ``shape``, refused past ``MAX_ELEMENTS`` (an int64 overflow
    in TensorFlow: only a damaged file declares that many).

    Example:
        >>> element_count((2, 3), "demo")
        6
    """
    count = 1
    for d in shape:
        count *= d
        if count > MAX_ELEMENTS:
            raise FormatError(f"Expected at most {MAX_ELEMENTS} elements in {where}. Received "
                              f"shape {list(shape)}. The index is damaged. Fix: re-save the "
                              "checkpoint or restore it from a backup.")
    return count


def iter_fields(buf: Buffer, where: str) -> Iterator[tuple[int, int, Union[int, memoryview]]]:
    """Yield ``(field_number, wire_type, value)``; LEN values are memoryviews into ``buf``.

    Example:
        >>> [(n, t, v) for n, t, v in iter_fields(b"\\x08\\x01", "demo")]
        [(1, 0, 1)]
    """
    view = memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    pos, end = 0, len(view)
    while pos < end:
        key, pos = read_varint(view, pos, where)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise FormatError(f"Invalid protobuf field number 0 in {where} at offset {pos}. "
                              "The file is damaged or not a TensorFlow checkpoint.")
        if wire_type == VARINT:
            value, pos = read_varint(view, pos, where)
            yield number, wire_type, value
        elif wire_type in (FIXED32, FIXED64):
            size = 4 if wire_type == FIXED32 else 8
            if pos + size > end:
                raise FormatError(f"Truncated fixed{size * 8} field {number} in {where}.")
            yield number, wire_type, int.from_bytes(view[pos:pos + size], "little")
            pos += size
        elif wire_type == LEN:
            length, pos = read_varint(view, pos, where)
            if length > end - pos:
                raise FormatError(
                    f"Length-delimited field {number} in {where} claims {length} bytes but only "
                    f"{end - pos} remain. The file is damaged or truncated.")
            yield number, wire_type, view[pos:pos + length]
            pos += length
        else:
            raise FormatError(f"Unsupported protobuf wire type {wire_type} (field {number}) in "
                              f"{where}. Expected 0, 1, 2 or 5. The file is damaged.")


def expect_wire(number: int, wire_type: int, expected: int, where: str) -> None:
    """Raise FormatError unless a known field arrived with the wire type its schema declares."""
    if wire_type != expected:
        raise FormatError(f"Field {number} of {where} has wire type {wire_type}; expected "
                          f"{expected}. The file is damaged or not a TensorFlow checkpoint.")


def as_bytes(value: Union[int, memoryview]) -> bytes:
    """The bytes of a LEN field value."""
    assert isinstance(value, memoryview)
    return bytes(value)


def as_text(value: Union[int, memoryview], where: str) -> str:
    """The UTF-8 text of a LEN field value."""
    try:
        return as_bytes(value).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"Expected UTF-8 text in {where}. Received invalid bytes ({e}).") from None


def read_packed_or_single(wire_type: int, value: Union[int, memoryview], where: str) -> list[int]:
    """Values of a repeated varint field, whether packed (LEN) or one element (VARINT)."""
    if wire_type == VARINT:
        assert isinstance(value, int)
        return [value]
    expect_wire(0, wire_type, LEN, where)
    out, pos = [], 0
    assert isinstance(value, memoryview)
    while pos < len(value):
        v, pos = read_varint(value, pos, where)
        out.append(v)
    return out


# ----------------------------------------------------------------------------- messages
@dataclass
class VersionDef:
    """``tensorflow.VersionDef``: producer, min_consumer, bad_consumers."""

    producer: int = 0
    min_consumer: int = 0
    bad_consumers: list[int] = field(default_factory=list)


@dataclass
class BundleHeader:
    """``BundleHeaderProto``: ``endianness`` 0 = LITTLE, 1 = BIG."""

    num_shards: int = 0
    endianness: int = 0
    version: Optional[VersionDef] = None


@dataclass
class SliceExtent:
    """``TensorSliceProto.Extent``: ``length=None`` means the full dimension."""

    start: int = 0
    length: Optional[int] = None


@dataclass
class BundleEntry:
    """``BundleEntryProto``. ``shape=None`` means the field was absent; ``slices`` lists extents."""

    dtype: int = 0
    shape: Optional[tuple[int, ...]] = None
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0
    slices: list[list[SliceExtent]] = field(default_factory=list)
    unknown_rank: bool = False


def encode_version(v: VersionDef) -> bytes:
    """Serialize a VersionDef."""
    out = bytearray()
    put_int(out, 1, v.producer)
    put_int(out, 2, v.min_consumer)
    if v.bad_consumers:
        packed = bytearray()
        for c in v.bad_consumers:
            put_varint(packed, c)
        put_len(out, 3, packed)
    return bytes(out)


def encode_header(h: BundleHeader) -> bytes:
    """Serialize a BundleHeaderProto exactly as protobuf's C++ serializer does.

    Example:
        >>> encode_header(BundleHeader(num_shards=2)).hex()
        '0802'
    """
    out = bytearray()
    put_int(out, 1, h.num_shards)
    put_int(out, 2, h.endianness)
    if h.version is not None:
        put_len(out, 3, encode_version(h.version))
    return bytes(out)


def encode_shape(shape: tuple[int, ...], unknown_rank: bool = False) -> bytes:
    """Serialize a TensorShapeProto (dims without names).

    Example:
        >>> encode_shape((2, 3)).hex()
        '1202080212020803'
    """
    out = bytearray()
    for d in shape:
        dim = bytearray()
        put_int(dim, 1, d)
        put_len(out, 2, dim)
    put_int(out, 3, int(unknown_rank))
    return bytes(out)


def _encode_slice(extents: list[SliceExtent]) -> bytes:
    out = bytearray()
    for e in extents:
        ext = bytearray()
        put_int(ext, 1, e.start)
        if e.length is not None:
            put_int(ext, 2, e.length, always=True)  # oneof member: present even when zero
        put_len(out, 1, ext)
    return bytes(out)


def encode_entry(e: BundleEntry) -> bytes:
    """Serialize a BundleEntryProto exactly as protobuf's C++ serializer does.

    Example:
        >>> encode_entry(BundleEntry(dtype=1, shape=(), size=4, crc32c=7)).hex()
        '0801120028043507000000'
    """
    out = bytearray()
    put_int(out, 1, e.dtype)
    if e.shape is not None:
        put_len(out, 2, encode_shape(e.shape, e.unknown_rank))
    put_int(out, 3, e.shard_id)
    put_int(out, 4, e.offset)
    put_int(out, 5, e.size)
    put_fixed32(out, 6, e.crc32c)
    for s in e.slices:
        put_len(out, 7, _encode_slice(s))
    return bytes(out)


def decode_version(buf: Buffer, where: str) -> VersionDef:
    """Parse a VersionDef."""
    v = VersionDef()
    for num, wt, val in iter_fields(buf, where):
        if num == 1:
            expect_wire(num, wt, VARINT, where)
            v.producer = to_signed(int(val), 32)
        elif num == 2:
            expect_wire(num, wt, VARINT, where)
            v.min_consumer = to_signed(int(val), 32)
        elif num == 3:
            v.bad_consumers += [to_signed(x, 32) for x in read_packed_or_single(wt, val, where)]
    return v


def decode_header(buf: Buffer, where: str) -> BundleHeader:
    """Parse a BundleHeaderProto; ``where`` names the file in error messages."""
    where_h = f"the bundle header of {where}"
    h = BundleHeader()
    for num, wt, val in iter_fields(buf, where_h):
        if num == 1:
            expect_wire(num, wt, VARINT, where_h)
            h.num_shards = to_signed(int(val), 32)
        elif num == 2:
            expect_wire(num, wt, VARINT, where_h)
            h.endianness = to_signed(int(val), 32)
        elif num == 3:
            expect_wire(num, wt, LEN, where_h)
            h.version = decode_version(val, where_h)  # type: ignore[arg-type]
    return h


def decode_shape(buf: Buffer, where: str) -> tuple[tuple[int, ...], bool]:
    """Parse a TensorShapeProto into ``(dims, unknown_rank)``; more than ``MAX_RANK`` dims is
    damage (TensorFlow's own limit), refused before the rest of the list is decoded."""
    dims: list[int] = []
    unknown = False
    for num, wt, val in iter_fields(buf, where):
        if num == 2:
            expect_wire(num, wt, LEN, where)
            if len(dims) == MAX_RANK:
                raise FormatError(f"Expected at most {MAX_RANK} dimensions in the shape of "
                                  f"{where} (TensorFlow's limit). Received more. The index is "
                                  "damaged. Fix: re-save the checkpoint or restore it from a "
                                  "backup.")
            size = 0
            for dnum, dwt, dval in iter_fields(val, where):  # type: ignore[arg-type]
                if dnum == 1:
                    expect_wire(dnum, dwt, VARINT, where)
                    size = to_signed(int(dval))
            dims.append(size)
        elif num == 3:
            expect_wire(num, wt, VARINT, where)
            unknown = bool(val)
    return tuple(dims), unknown


def _decode_slice(buf: Buffer, where: str) -> list[SliceExtent]:
    extents = []
    for num, wt, val in iter_fields(buf, where):
        if num != 1:
            continue
        expect_wire(num, wt, LEN, where)
        ext = SliceExtent()
        for enum_, ewt, evalue in iter_fields(val, where):  # type: ignore[arg-type]
            if enum_ in (1, 2):
                expect_wire(enum_, ewt, VARINT, where)
                if enum_ == 1:
                    ext.start = to_signed(int(evalue))
                else:
                    ext.length = to_signed(int(evalue))
        extents.append(ext)
    return extents


def decode_entry(buf: Buffer, where: str) -> BundleEntry:
    """Parse a BundleEntryProto; ``where`` names the tensor and file in error messages."""
    e = BundleEntry()
    for num, wt, val in iter_fields(buf, where):
        if num in (1, 3, 4, 5):
            expect_wire(num, wt, VARINT, where)
            v = to_signed(int(val), 32 if num in (1, 3) else 64)
            setattr(e, {1: "dtype", 3: "shard_id", 4: "offset", 5: "size"}[num], v)
        elif num == 2:
            expect_wire(num, wt, LEN, where)
            e.shape, e.unknown_rank = decode_shape(val, where)
        elif num == 6:
            expect_wire(num, wt, FIXED32, where)
            e.crc32c = int(val)
        elif num == 7:
            expect_wire(num, wt, LEN, where)
            e.slices.append(_decode_slice(val, where))
    return e
