"""tf_checkpoint.bundle / reader: round trips of every dtype and shape, golden bytes, streaming."""

from __future__ import annotations

import os

import numpy as np
import pytest

from savepoint.errors import CheckpointNotFoundError, DTypeError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import layout, table
from savepoint.saving.formats.tf_checkpoint.bundle import (BundleReader, bundle_exists,
                                                           write_bundle)
from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array

NUMERIC = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
           "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]
SHAPES = [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]


def _sample(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * np.dtype(dtype).itemsize,
                       dtype=np.uint8)
    if dtype == "bool":
        return (raw % 2).astype(bool).reshape(shape)
    return raw.view(dtype).reshape(shape)  # arbitrary bit patterns, NaNs included


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", NUMERIC)
def test_every_dtype_and_shape_round_trips_bit_exactly(tmp_path, dtype):
    tensors = {f"t{i}": _sample(dtype, s, i) for i, s in enumerate(SHAPES)}
    write_bundle(str(tmp_path / "ckpt"), tensors)
    with BundleReader(str(tmp_path / "ckpt")) as r:
        assert r.get_variable_to_dtype_map() == {k: dtype for k in tensors}
        assert r.get_variable_to_shape_map() == {k: list(v.shape) for k, v in tensors.items()}
        for name, value in tensors.items():
            assert _bits_equal(r.get_tensor(name), value)


def test_bfloat16_round_trip_and_conversion(tmp_path):
    values = np.array([[1.0, -2.5, 3.140625], [0.0, -0.0, 1e38]], np.float32)
    bf = BFloat16Array.from_float32(values)
    write_bundle(str(tmp_path / "c"), {"bf": bf, "bf0": BFloat16Array(np.zeros((), np.uint16))})
    r = BundleReader(str(tmp_path / "c"))
    got = r.get_tensor("bf")
    assert isinstance(got, BFloat16Array) and got == bf
    assert r.get_variable_to_dtype_map()["bf"] == "bfloat16"
    np.testing.assert_array_equal(got.to_float32()[0, :2], [1.0, -2.5])
    assert r.get_tensor("bf0").shape == ()


def test_bfloat16_rounding_is_nearest_even():
    f = np.array([1.0 + 2**-8, 1.0 + 3 * 2**-8, np.nan, np.inf], np.float32)
    bits = BFloat16Array.from_float32(f).bits.tolist()
    assert bits[:2] == [0x3F80, 0x3F82] and bits[2] == 0x7FC0 and bits[3] == 0x7F80
    with pytest.raises(DTypeError, match="Expected BFloat16Array bits of dtype uint16"):
        BFloat16Array(np.zeros(2, np.float32))


def test_strings_scalars_and_arrays(tmp_path):
    tensors = {"s": b"hello", "u": "h\u00e9llo", "empty": b"",
               "arr": np.array([b"", b"a", b"bc" * 100], dtype=object),
               "fixed": np.array([["x", "yy"], ["", "zzz"]]), "none": np.array([], dtype="S1")}
    write_bundle(str(tmp_path / "c"), tensors)
    r = BundleReader(str(tmp_path / "c"))
    assert r.get_tensor("s") == b"hello" and r.get_tensor("u") == "h\u00e9llo".encode()
    assert r.get_tensor("empty") == b""
    assert r.get_tensor("arr").tolist() == [b"", b"a", b"bc" * 100]
    assert r.get_tensor("fixed").tolist() == [[b"x", b"yy"], [b"", b"zzz"]]
    assert r.get_tensor("none").shape == (0,)
    assert r.get_variable_to_dtype_map()["arr"] == "string"


def test_golden_bytes_of_a_small_bundle(tmp_path):
    prefix = str(tmp_path / "g")
    write_bundle(prefix, {"w": np.array([1.0, 2.0], np.float32), "s": b"hi"})
    data = open(layout.data_path(prefix), "rb").read()
    # float32 [1, 2] | string: varint len 2, masked crc32c of uint32 length, "hi"
    assert data.hex() == "0000803f00000040" + "02" + "d8d81073" + "6869"
    rows = table.read_table(open(layout.index_path(prefix), "rb").read(), "g.index")
    assert [(k, v.hex()) for k, v in rows] == [
        (b"", "08011a020801"),  # num_shards 1, version {producer 1}
        (b"s", "0807" "1200" "2008" "2807" "35" "09eb4d15"),  # string, scalar, offset 8, size 7
        (b"w", "0801" "120412020802" "2808" "35" "593ce535"),  # float, [2], offset 0, size 8
    ]


def test_data_is_in_given_order_and_index_sorted(tmp_path):
    prefix = str(tmp_path / "o")
    write_bundle(prefix, {"z": np.int8(1), "a": np.int8(2), "m": np.int8(3)})
    assert open(layout.data_path(prefix), "rb").read() == b"\x01\x02\x03"
    r = BundleReader(prefix)
    assert r.keys() == ["a", "m", "z"] and r.entry("z").offset == 0


def test_large_tensor_streams_from_array_memory(tmp_path, monkeypatch):
    big = np.random.default_rng(0).standard_normal(3_000_000).astype(np.float32)  # 12 MB
    writes: list[object] = []
    original = storage.AtomicWriter.write

    def spy(self, data):
        writes.append(data)
        return original(self, data)

    monkeypatch.setattr(storage.AtomicWriter, "write", spy)
    write_bundle(str(tmp_path / "big"), {"big": big})
    assert any(isinstance(w, np.ndarray) and np.shares_memory(w, big) for w in writes)
    out = np.empty_like(big)
    BundleReader(str(tmp_path / "big")).read_into("big", out)
    assert _bits_equal(out, big)


def test_non_contiguous_and_big_endian_inputs(tmp_path):
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    b = np.arange(4, dtype=">i4")
    write_bundle(str(tmp_path / "c"), {"a": a, "b": b})
    r = BundleReader(str(tmp_path / "c"))
    np.testing.assert_array_equal(r.get_tensor("a"), a)
    np.testing.assert_array_equal(r.get_tensor("b"), b)
    assert r.get_tensor("b").dtype == np.dtype("<i4")


def test_read_into_checks_shape_dtype_and_strings(tmp_path):
    write_bundle(str(tmp_path / "c"), {"a": np.ones((2, 2), np.float32), "s": b"x",
                                       "bf": BFloat16Array(np.ones(3, np.uint16))})
    r = BundleReader(str(tmp_path / "c"))
    with pytest.raises(ValueError, match=r"Expected a C-contiguous array of shape \[2, 2\] and "
                                         r"dtype float32.*Received shape \[4\], dtype float32"):
        r.read_into("a", np.empty(4, np.float32))
    with pytest.raises(TypeError, match="is a string tensor. Fix: use get_tensor"):
        r.read_into("s", np.empty((), np.float32))
    out = BFloat16Array(np.zeros(3, np.uint16))
    r.read_into("bf", out)
    assert out.bits.tolist() == [1, 1, 1]


def test_read_all_keys_and_membership(tmp_path):
    write_bundle(str(tmp_path / "c"), {"a": np.int64(5), "b": b"t"})
    r = BundleReader(str(tmp_path / "c"))
    assert set(r.read_all()) == {"a", "b"} and "a" in r and len(r) == 2
    assert list(r) == ["a", "b"] and r.has_tensor("b") and not r.has_tensor("c")
    with pytest.raises(KeyError, match='Tensor "c" not found in checkpoint .*c.index'):
        r.get_tensor("c")


def test_bad_inputs_are_rejected_before_any_file_is_written(tmp_path):
    cases = [({"x": 1.5}, DTypeError, "Received a Python float.*np.float32"),
             ({"x": np.array(["2020-01-01"], dtype="datetime64[D]")}, DTypeError,
              'Tensor "x": Expected a dtype TensorFlow checkpoints store.*Fix: cast'),
             ({"x": [1, 2]}, DTypeError, "Received list. Fix: convert it with np.asarray"),
             ({"": np.int8(1)}, ValueError, "Expected a non-empty str tensor name"),
             ({"s": np.array([1, b"a"], dtype=object)}, DTypeError,
              'Expected bytes or str elements in string tensor "s". Received int')]
    for tensors, error, message in cases:
        with pytest.raises(error, match=message):
            write_bundle(str(tmp_path / "sub" / "c"), tensors)
    assert not (tmp_path / "sub").exists()


def test_missing_checkpoint_message(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="Expected a TensorFlow checkpoint at "
                                                      "prefix .*nothing.*latest_checkpoint"):
        BundleReader(str(tmp_path / "nothing"))
    assert not bundle_exists(str(tmp_path / "nothing"))


def test_overwrite_same_prefix(tmp_path):
    prefix = str(tmp_path / "c")
    write_bundle(prefix, {"a": np.zeros(1000, np.float32)})
    write_bundle(prefix, {"b": np.ones(2, np.float32)})
    r = BundleReader(prefix)
    assert r.keys() == ["b"]
    assert sorted(os.listdir(tmp_path)) == ["c.data-00000-of-00001", "c.index"]
