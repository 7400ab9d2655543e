"""The IDX parser (MNIST's original format) and tools/make_mnist_sample.py built on it."""

import gzip
import hashlib
import importlib.util
import os
import struct

import numpy as np
import pytest

from savepoint.datasets import mnist
from savepoint.errors import FormatError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode an IDX file independently of the parser: magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d)
                                                             for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_parses_images_and_labels():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    parsed = mnist.parse_idx(idx_bytes(images), expected_magic=2051)
    np.testing.assert_array_equal(parsed, images)
    assert parsed.dtype == np.uint8 and parsed.shape == (2, 28, 28)
    labels = np.array([7, 2, 1], np.uint8)
    np.testing.assert_array_equal(mnist.parse_idx(idx_bytes(labels), expected_magic=2049), labels)


def test_parses_gzipped_and_wider_types():
    values = np.array([[1, -2], [300000, -400000]], dtype=np.int32)
    parsed = mnist.parse_idx(gzip.compress(idx_bytes(values, type_code=0x0C)))
    np.testing.assert_array_equal(parsed, values)
    assert parsed.dtype == np.dtype("int32")  # native byte order
    floats = np.array([0.5, -1.25], dtype=np.float64)
    np.testing.assert_array_equal(mnist.parse_idx(idx_bytes(floats, type_code=0x0E)), floats)


@pytest.mark.parametrize("data, shown", [
    (b"\x12\x34\x08\x01\x00\x00\x00\x01\x05", "12340801"),   # non-zero leading bytes
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "00000701"),   # unknown type code
    (b"\x00\x00\x08\x00", "00000800"),                       # zero dimensions
    (b"", "none \\(empty\\)"),
])
def test_rejects_bad_magic(data, shown):
    with pytest.raises(FormatError, match=rf"Expected an IDX file \(magic 0x0000TTNN, e\.g\. 2051 "
                                          rf"for images, 2049 for labels\)\. Received magic "
                                          rf"{shown}\. Fix: pass the"):
        mnist.parse_idx(data)


def test_rejects_swapped_files():
    labels = idx_bytes(np.array([1, 2], np.uint8))
    with pytest.raises(FormatError, match=r"Expected IDX magic 2051\. Received 2049\. Fix: check "
                                          r"that images and labels files were not swapped\."):
        mnist.parse_idx(labels, expected_magic=2051)


def test_rejects_truncated_data():
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-10]
    with pytest.raises(FormatError, match=r"Expected 1584 bytes for an IDX array of shape "
                                          r"\(2, 28, 28\)\. Received 1574 bytes\. Fix: the file "
                                          r"is truncated"):
        mnist.parse_idx(data)


def _load_tool():
    path = os.path.join(REPO, "tools", "make_mnist_sample.py")
    spec = importlib.util.spec_from_file_location("make_mnist_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_fake_source(folder, tool, monkeypatch, n=10):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    files = {}
    for kind, array, magic in (("images", images, 2051), ("labels", labels, 2049)):
        name = tool.FILES[kind][0]
        data = gzip.compress(idx_bytes(array))
        (folder / name).write_bytes(data)
        files[kind] = (name, magic, hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(tool, "FILES", files)
    return images, labels


def test_tool_rejects_files_with_another_hash(tmp_path):
    tool = _load_tool()
    name = tool.FILES["labels"][0]
    (tmp_path / name).write_bytes(b"tampered")
    with pytest.raises(SystemExit, match=rf"Expected {name} with sha256 {tool.FILES['labels'][2]}"
                                         rf"\. Received {hashlib.sha256(b'tampered').hexdigest()}"):
        tool.read_verified(str(tmp_path), "labels")


def test_tool_splits_even_train_odd_test(tmp_path, monkeypatch, capsys):
    tool = _load_tool()
    images, labels = _write_fake_source(tmp_path, tool, monkeypatch)
    monkeypatch.setattr(tool, "EXPECTED_COUNT", 10)
    out = tmp_path / "out" / "sample.npz"
    assert tool.main([str(tmp_path), "--output", str(out)]) == 0
    (x_train, y_train), (x_test, y_test) = mnist.read_npz(str(out))
    np.testing.assert_array_equal(x_train, images[[0, 2, 4, 6, 8]])
    np.testing.assert_array_equal(y_train, labels[[0, 2, 4, 6, 8]])
    np.testing.assert_array_equal(x_test, images[[1, 3, 5, 7, 9]])
    np.testing.assert_array_equal(y_test, labels[[1, 3, 5, 7, 9]])
    assert f"wrote {out}" in capsys.readouterr().out


def test_tool_build_sample_checks_the_real_shape(tmp_path, monkeypatch):
    tool = _load_tool()
    _write_fake_source(tmp_path, tool, monkeypatch, n=10)
    with pytest.raises(SystemExit, match=r"Expected images \(10000, 28, 28\) and labels "
                                         r"\(10000,\)\. Received \(10, 28, 28\) and \(10,\)\."):
        tool.build_sample(str(tmp_path))
