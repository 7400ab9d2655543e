"""tf_checkpoint.crc and tf_checkpoint.proto: checksums, masking and the protobuf wire codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint import crc, proto


def test_crc32c_known_values():
    assert crc.value(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    assert crc.value(b"") == 0
    assert crc.extend(crc.value(b"1234"), b"56789") == 0xE3069283


def test_mask_matches_tensorflow_formula():
    c = 0xE3069283
    assert crc.mask(c) == ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    assert crc.mask(0) == 0xA282EAD8


@given(st.integers(0, 2**32 - 1))
def test_unmask_inverts_mask(c):
    assert crc.unmask(crc.mask(c)) == c


@given(st.integers(-(2**63), 2**64 - 1))
def test_varint_round_trip(v):
    data = proto.varint_bytes(v)
    value, pos = proto.read_varint(data, 0, "t")
    assert pos == len(data) and value == v & (2**64 - 1)


def test_negative_varint_is_ten_bytes():
    assert len(proto.varint_bytes(-1)) == 10
    assert proto.to_signed(proto.read_varint(proto.varint_bytes(-5), 0, "t")[0]) == -5


def test_truncated_and_overlong_varints_raise():
    with pytest.raises(FormatError, match="Truncated varint in demo"):
        proto.read_varint(b"\x80\x80", 0, "demo")
    with pytest.raises(FormatError, match="Varint longer than 10 bytes in demo"):
        proto.read_varint(b"\xff" * 11 + b"\x01", 0, "demo")


def test_length_overrun_and_bad_wire_type_raise():
    with pytest.raises(FormatError, match="claims 5 bytes but only 1 remain"):
        list(proto.iter_fields(b"\x12\x05a", "demo"))
    with pytest.raises(FormatError, match="Unsupported protobuf wire type 3"):
        list(proto.iter_fields(b"\x0b", "demo"))
    with pytest.raises(FormatError, match="Invalid protobuf field number 0"):
        list(proto.iter_fields(b"\x00\x01", "demo"))
    with pytest.raises(FormatError, match="Truncated fixed32 field 6"):
        list(proto.iter_fields(b"\x35\x01\x02", "demo"))


def test_header_golden_bytes():
    header = proto.BundleHeader(num_shards=1, version=proto.VersionDef(producer=1))
    assert proto.encode_header(header) == bytes.fromhex("08011a020801")  # what TF writes
    assert proto.decode_header(bytes.fromhex("08011a020801"), "f") == header


def test_entry_golden_bytes_from_tensorflow():
    # float32 [2, 3] at offset 0, 24 bytes, as written by TensorFlow 2.21
    tf_bytes = bytes.fromhex("080112081202080212020803281835c0db3d17")
    entry = proto.decode_entry(tf_bytes, "t")
    assert entry == proto.BundleEntry(dtype=1, shape=(2, 3), offset=0, size=24,
                                      crc32c=0x173DDBC0)
    assert proto.encode_entry(entry) == tf_bytes


def test_entry_with_slices_and_unknown_fields_round_trip():
    e = proto.BundleEntry(dtype=1, shape=(4,), slices=[[proto.SliceExtent(0, 2)],
                                                       [proto.SliceExtent(2, None)]])
    data = proto.encode_entry(e)
    assert proto.decode_entry(data + b"\x48\x07", "t") == e  # unknown field 9 skipped


def test_entry_wrong_wire_type_raises():
    with pytest.raises(FormatError, match="Field 6 of tensor x has wire type 0; expected 5"):
        proto.decode_entry(b"\x30\x01", "tensor x")
