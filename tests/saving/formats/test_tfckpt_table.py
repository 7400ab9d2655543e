"""tf_checkpoint.table: LevelDB table writing (TensorFlow's layout) and validating reading."""

from __future__ import annotations

import struct

import pytest

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint import table
from savepoint.saving.formats.tf_checkpoint.proto import read_varint


def _entries(n: int, value_size: int = 10) -> list[tuple[bytes, bytes]]:
    return [(f"layer_{i:05d}/kernel".encode(), bytes([i % 251]) * value_size) for i in range(n)]


def test_golden_single_entry_table():
    data = table.encode_table([(b"", b"\x08\x01")])
    expected = (
        "000002" "0801" "00000000" "01000000" "00" "bb822b7f"  # data block + trailer
        "00000000" "01000000" "00" "c0f2a1b0"  # empty metaindex block + trailer
        "000002" "000d" "00000000" "01000000" "00" "c8efa5cc"  # index: "" -> (0, 13)
        "1208" "1f0d" + "00" * 36 + "57fb808b247547db")  # footer: handles, padding, magic
    assert data.hex() == expected


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 100, 2000])
def test_round_trip(n):
    entries = _entries(n)
    assert table.read_table(table.encode_table(entries), "t.index") == entries


def test_many_blocks_and_separators_round_trip():
    entries = _entries(500, value_size=100)
    data = table.encode_table(entries, block_size=1024)
    assert table.read_table(data, "t.index") == entries


def test_huge_value_gets_its_own_block():
    entries = [(b"a", b"x"), (b"b", b"y" * 5000), (b"c", b"z")]
    assert table.read_table(table.encode_table(entries, block_size=1024), "t") == entries


def test_restart_points_every_16_keys():
    data = table.encode_table(_entries(33))
    meta_offset, _ = read_varint(data, len(data) - 48, "footer")  # footer: metaindex handle
    data_block_size = meta_offset - 5  # the only data block, then its 5-byte trailer
    (count,) = struct.unpack_from("<I", data, data_block_size - 4)
    restarts = struct.unpack_from(f"<{count}I", data, data_block_size - 4 - 4 * count)
    assert count == 3 and restarts[0] == 0  # restarts at entries 0, 16 and 32
    assert data[restarts[1]] == 0 and data[restarts[2]] == 0  # full keys: shared == 0


def test_unsorted_keys_are_rejected_by_the_writer():
    with pytest.raises(ValueError, match="Expected keys in strictly increasing order"):
        table.encode_table([(b"b", b""), (b"a", b"")])


def test_bad_magic_and_short_files():
    data = bytearray(table.encode_table(_entries(3)))
    with pytest.raises(FormatError, match="'x.index'.*expected at least 48 bytes"):
        table.read_table(b"\0" * 10, "x.index")
    data[-1] ^= 0xFF
    with pytest.raises(FormatError, match="'x.index'.*bad magic number"):
        table.read_table(bytes(data), "x.index")


def test_every_single_bit_flip_is_detected():
    data = table.encode_table(_entries(20))
    original = table.read_table(data, "t")
    for i in range(len(data) - 48):  # the footer padding is not checksummed, as in TF
        for bit in (0, 7):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            try:
                got = table.read_table(bytes(flipped), "t.index")
            except FormatError as e:
                assert "t.index" in str(e)
            else:
                assert got == original, f"undetected flip at byte {i}"


def test_truncation_is_detected():
    data = table.encode_table(_entries(20))
    for cut in range(1, len(data)):
        with pytest.raises(FormatError, match="Unable to read table file 't.index'"):
            table.read_table(data[:-cut], "t.index")


def test_handle_past_end_is_reported():
    data = bytearray(table.encode_table(_entries(2)))
    footer = len(data) - 48
    data[footer:footer + 2] = b"\x7f\x7f"  # metaindex handle far past the end
    with pytest.raises(FormatError, match="metaindex block .* runs past the end"):
        table.read_table(bytes(data), "t.index")


def test_snappy_blocks_are_refused_clearly():
    data = bytearray(table.encode_table([(b"a", b"1")]))
    # rewrite the data block's type byte to 1 (snappy) and fix its checksum
    from savepoint.saving.formats.tf_checkpoint import crc
    n = 3 + 1 + 1 + 8  # entry + restarts
    data[n] = 1
    data[n + 1:n + 5] = struct.pack("<I", crc.mask(crc.value(bytes(data[:n + 1]))))
    with pytest.raises(FormatError, match="snappy-compressed"):
        table.read_table(bytes(data), "t.index")
