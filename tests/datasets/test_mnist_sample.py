"""The embedded offline MNIST sample: shapes, dtypes, the even/odd split and the offline path."""

import importlib.resources
import warnings

import numpy as np
import pytest

from savepoint.datasets import mnist

# The first ten labels of the real MNIST test set (README of the data folder).
REAL_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_sample_is_package_data_under_two_megabytes():
    resource = importlib.resources.files("savepoint.datasets").joinpath("data", "mnist_sample.npz")
    assert resource.is_file()
    assert len(resource.read_bytes()) < 2 * 1024 * 1024


def test_sample_shapes_dtypes_and_split():
    (x_train, y_train), (x_test, y_test) = mnist.load_sample()
    assert x_train.shape == (5000, 28, 28) and x_test.shape == (5000, 28, 28)
    assert y_train.shape == (5000,) and y_test.shape == (5000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert y_train[:5].tolist() == REAL_TEST_LABELS[0::2]  # 7 1 4 4 5
    assert y_test[:5].tolist() == REAL_TEST_LABELS[1::2]  # 2 0 1 9 9
    assert set(np.unique(y_train).tolist()) == set(range(10))
    assert x_train.max() == 255 and x_train.min() == 0
    # Real digits: a dark background with about 19% of the pixels lit.
    assert 0.1 < float((x_train > 0).mean()) < 0.3


def test_offline_env_returns_sample_with_one_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("load_data must not touch the network when SAVEPOINT_OFFLINE=1")

    monkeypatch.setattr(mnist, "download", no_network)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "savepoint: could not download MNIST (offline mode: SAVEPOINT_OFFLINE is set); using the "
        "embedded 10,000-digit sample (5,000 train / 5,000 test) shipped with savepoint.")
    assert caught[0].filename == __file__  # points at the caller's line
    assert x_train.shape == (5000, 28, 28) and y_test[:5].tolist() == [2, 0, 1, 9, 9]
    assert list(tmp_path.iterdir()) == []


def test_offline_env_zero_means_online(monkeypatch, tmp_path):
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "0")
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))
    calls = []

    def failing_download(url, target, sha256):
        calls.append((url, target, sha256))
        raise mnist.DownloadError("URLError: <urlopen error no network>")

    monkeypatch.setattr(mnist, "download", failing_download)
    with pytest.warns(UserWarning, match=r"could not download MNIST \(URLError: <urlopen error "
                                         r"no network>\); using the embedded 10,000-digit"):
        mnist.load_data()
    assert calls == [(mnist.ORIGIN, str(tmp_path / "datasets" / "mnist.npz"), mnist.SHA256)]


def test_keras_origin_and_hash():
    assert mnist.ORIGIN == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert mnist.SHA256 == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def test_cache_dir_honours_savepoint_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))
    assert mnist.cache_dir() == str(tmp_path / "datasets")
    monkeypatch.delenv("SAVEPOINT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_dir() == str(tmp_path / "home" / ".savepoint" / "datasets")
