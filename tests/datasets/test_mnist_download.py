"""load_data's download path against a local HTTP server: verify, cache, reuse, fall back."""

import hashlib
import io
import os
import socket
import warnings

import numpy as np
import pytest

from savepoint.datasets import mnist
from savepoint.errors import FormatError


def fake_mnist_bytes(seed: int = 0) -> bytes:
    """A small npz with the Keras layout (3 train / 2 test digits)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
             y_train=np.array([5, 0, 4], np.uint8),
             x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
             y_test=np.array([7, 2], np.uint8))
    return buf.getvalue()


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
    return tmp_path / "home" / "datasets"


def serve_fake(monkeypatch, http_server, data: bytes, sha256: str | None = None):
    base, www, _ = http_server
    (www / "mnist.npz").write_bytes(data)
    monkeypatch.setattr(mnist, "ORIGIN", f"{base}/mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", sha256 or hashlib.sha256(data).hexdigest())


def load_quietly():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays = mnist.load_data()
    return arrays, [str(w.message) for w in caught]


def test_download_verifies_and_caches(monkeypatch, http_server, home):
    data = fake_mnist_bytes()
    serve_fake(monkeypatch, http_server, data)
    ((x_train, y_train), (x_test, y_test)), messages = load_quietly()
    assert messages == []
    assert x_train.shape == (3, 28, 28) and x_train.dtype == np.uint8
    assert y_train.tolist() == [5, 0, 4] and y_test.tolist() == [7, 2]
    with np.load(io.BytesIO(data)) as f:
        np.testing.assert_array_equal(x_test, f["x_test"])
    assert sorted(os.listdir(home)) == ["mnist.npz"]  # no temporary files left
    assert (home / "mnist.npz").read_bytes() == data


def test_cached_file_is_reused_without_network(monkeypatch, http_server, home):
    data = fake_mnist_bytes()
    serve_fake(monkeypatch, http_server, data)
    load_quietly()
    assert http_server[2] == ["/mnist.npz"]
    (_, (_, y_test)), messages = load_quietly()
    assert messages == [] and y_test.tolist() == [7, 2]
    assert http_server[2] == ["/mnist.npz"]  # second call served from the cache


def test_damaged_cached_file_is_downloaded_again(monkeypatch, http_server, home):
    data = fake_mnist_bytes()
    serve_fake(monkeypatch, http_server, data)
    home.mkdir(parents=True)
    (home / "mnist.npz").write_bytes(b"not the file")
    (_, (_, y_test)), messages = load_quietly()
    assert messages == [] and y_test.tolist() == [7, 2]
    assert http_server[2] == ["/mnist.npz"]
    assert (home / "mnist.npz").read_bytes() == data


def test_hash_mismatch_discards_and_falls_back(monkeypatch, http_server, home):
    serve_fake(monkeypatch, http_server, fake_mnist_bytes(), sha256="0" * 64)
    ((x_train, _), _), messages = load_quietly()
    assert len(messages) == 1
    assert messages[0].startswith("savepoint: could not download MNIST (sha256 mismatch for "
                                  f"{mnist.ORIGIN}: expected {'0' * 64}, received ")
    assert messages[0].endswith("the file was discarded); using the embedded 10,000-digit sample "
                                "(5,000 train / 5,000 test) shipped with savepoint.")
    assert x_train.shape == (5000, 28, 28)
    assert os.listdir(home) == []  # neither the file nor a temporary one


def test_http_error_falls_back(monkeypatch, http_server, home):
    monkeypatch.setattr(mnist, "ORIGIN", f"{http_server[0]}/missing.npz")
    ((x_train, _), _), messages = load_quietly()
    assert len(messages) == 1 and "HTTPError: HTTP Error 404" in messages[0]
    assert x_train.shape == (5000, 28, 28)


def test_connection_refused_falls_back(monkeypatch, home):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(mnist, "ORIGIN", f"http://127.0.0.1:{port}/mnist.npz")
    ((x_train, _), (_, y_test)), messages = load_quietly()
    assert len(messages) == 1
    assert messages[0].startswith("savepoint: could not download MNIST (URLError: ")
    assert "refused" in messages[0].lower()
    assert y_test[:5].tolist() == [2, 0, 1, 9, 9]


def test_silent_server_times_out_and_falls_back(monkeypatch, home):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        monkeypatch.setattr(mnist, "ORIGIN", f"http://127.0.0.1:{port}/mnist.npz")
        monkeypatch.setattr(mnist, "CONNECT_TIMEOUT_S", 0.2)
        ((x_train, _), _), messages = load_quietly()
    assert len(messages) == 1 and "timed out" in messages[0]
    assert x_train.shape == (5000, 28, 28)
    assert os.listdir(home) == []


def test_total_timeout_aborts_a_slow_download(monkeypatch, http_server, home):
    serve_fake(monkeypatch, http_server, fake_mnist_bytes())
    with pytest.raises(mnist.DownloadError, match=r"the download took longer than 0 s"):
        mnist.download(mnist.ORIGIN, str(home / "mnist.npz"), mnist.SHA256, total_timeout=0)
    assert os.listdir(home) == []


def test_absolute_path_is_used_as_is(monkeypatch, http_server, home, tmp_path):
    serve_fake(monkeypatch, http_server, fake_mnist_bytes())
    target = tmp_path / "elsewhere" / "digits.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning expected
        (_, (_, y_test)) = mnist.load_data(str(target))
    assert y_test.tolist() == [7, 2] and target.is_file()
    assert not home.exists()


def test_read_npz_rejects_missing_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FormatError, match=r"Expected an MNIST \.npz with arrays \['x_train', "
                                          r"'y_train', 'x_test', 'y_test'\]\. Received one with "
                                          r"\['x_train'\]\. Fix: delete the file"):
        mnist.read_npz(str(path))


def test_read_npz_rejects_garbage_and_pickled_arrays(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"definitely not a zip")
    with pytest.raises(FormatError, match=r"Expected a readable \.npz file\. Received .*garbage"
                                          r"\.npz.*Fix: delete it"):
        mnist.read_npz(str(garbage))
    pickled = tmp_path / "pickled.npz"
    objects = np.array([{"a": 1}], dtype=object)
    np.savez(pickled, x_train=objects, y_train=objects, x_test=objects, y_test=objects)
    with pytest.raises(FormatError, match=r"numpy cannot read \(Object arrays cannot be loaded "
                                          r"when allow_pickle=False\)"):
        mnist.read_npz(str(pickled))


def test_file_sha256_matches_hashlib(tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "f").write_bytes(data)
    assert mnist.file_sha256(str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()


def test_unwritable_cache_falls_back(monkeypatch, http_server, tmp_path):
    serve_fake(monkeypatch, http_server, fake_mnist_bytes())
    blocker = tmp_path / "not_a_dir"
    blocker.write_bytes(b"")  # SAVEPOINT_HOME is a file: the cache folder cannot be created
    monkeypatch.setenv("SAVEPOINT_HOME", str(blocker))
    monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
    ((x_train, _), _), messages = load_quietly()
    assert len(messages) == 1
    assert messages[0].startswith("savepoint: could not download MNIST (StorageError: [Errno 20] "
                               "Could not write ")
    assert x_train.shape == (5000, 28, 28)
