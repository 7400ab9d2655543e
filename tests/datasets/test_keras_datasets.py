"""fashion_mnist, cifar10/100, imdb, reuters and boston_housing: small fake copies of Keras's
files served from a local HTTP server give what REAL tf-keras's load_data returns for them
(tools/make_dataset_goldens.py); offline and tampered downloads fail clearly; pickles that
name anything but numpy arrays are refused."""

import hashlib
import os
import pickle

import numpy as np
import pytest

from savepoint import datasets
from savepoint.datasets import safe_pickle
from savepoint.errors import ConfigError, FormatError, StorageError

from http_server import serve_directory

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "datasets")
EXPECTED = np.load(os.path.join(FIX, "expected.npz"))


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def served(monkeypatch, tmp_path):
    """Serve the fake files; point every dataset module at them (with their real hashes)."""
    with serve_directory(FIX) as url:
        base = url + "/"
        monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path / "home"))
        monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
        for module, name in ((datasets.imdb, "imdb.npz"), (datasets.reuters, "reuters.npz")):
            monkeypatch.setattr(module, "BASE", base)
            monkeypatch.setattr(module, "SHA256", sha256(os.path.join(FIX, name)))
        monkeypatch.setattr(datasets.boston_housing, "ORIGIN", base + "boston_housing.npz")
        monkeypatch.setattr(datasets.boston_housing, "SHA256",
                            sha256(os.path.join(FIX, "boston_housing.npz")))
        monkeypatch.setattr(datasets.fashion_mnist, "BASE", base + "fashion/")
        for module, name in ((datasets.cifar10, "cifar-10-python.tar.gz"),
                             (datasets.cifar100, "cifar-100-python.tar.gz")):
            monkeypatch.setattr(module, "ORIGIN", base + name)
            monkeypatch.setattr(module, "SHA256", sha256(os.path.join(FIX, name)))
        yield base, tmp_path / "home" / "datasets"


def check(case, result):
    (x_train, y_train), (x_test, y_test) = result
    for key, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test),
                       ("y_test", y_test)):
        if f"{case}__{key}__lengths" in EXPECTED.files:
            assert value.dtype == object
            assert [len(v) for v in value] == EXPECTED[f"{case}__{key}__lengths"].tolist()
            assert [w for v in value for w in v] == EXPECTED[f"{case}__{key}__values"].tolist()
        else:
            expected = EXPECTED[f"{case}__{key}"]
            assert value.dtype == expected.dtype and value.shape == expected.shape, key
            np.testing.assert_array_equal(value, expected)


CASES = [
    ("imdb", lambda: datasets.imdb.load_data()),
    ("imdb_args", lambda: datasets.imdb.load_data(num_words=30, skip_top=2, maxlen=9, seed=5,
                                                  start_char=1, oov_char=2, index_from=2)),
    ("imdb_nooov", lambda: datasets.imdb.load_data(num_words=25, oov_char=None,
                                                   start_char=None)),
    ("reuters", lambda: datasets.reuters.load_data()),
    ("reuters_args", lambda: datasets.reuters.load_data(num_words=40, maxlen=10,
                                                        test_split=0.3, seed=7)),
    ("boston", lambda: datasets.boston_housing.load_data()),
    ("boston_split", lambda: datasets.boston_housing.load_data(test_split=0.4, seed=3)),
    ("fashion", lambda: datasets.fashion_mnist.load_data()),
    ("cifar10", lambda: datasets.cifar10.load_data()),
    ("cifar100", lambda: datasets.cifar100.load_data()),
    ("cifar100_coarse", lambda: datasets.cifar100.load_data("coarse")),
]


@pytest.mark.parametrize("case,load", CASES, ids=[c for c, _ in CASES])
def test_load_data_matches_tf_keras(served, case, load):
    check(case, load())
    check(case, load())  # the second call reads the verified cache


def test_files_land_in_keras_cache_layout(served):
    _, cache = served
    datasets.fashion_mnist.load_data()
    datasets.cifar10.load_data()
    assert sorted(os.listdir(cache / "fashion-mnist")) == sorted(datasets.fashion_mnist.FILES)
    assert (cache / "cifar-10-batches-py" / "test_batch").is_file()


def test_offline_error_names_url_and_cache_path(served, monkeypatch):
    _, cache = served
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    with pytest.raises(StorageError, match=f"Cannot download .*reuters.npz to "
                                           f"{cache}/reuters.npz: offline mode"):
        datasets.reuters.load_data()
    with pytest.raises(StorageError, match="cifar-100-python.tar.gz"):
        datasets.cifar100.load_data()


def test_tampered_download_is_refused(served, monkeypatch):
    monkeypatch.setattr(datasets.imdb, "SHA256", "0" * 64)
    with pytest.raises(FormatError, match="Incomplete or corrupted file downloaded from"):
        datasets.imdb.load_data()


def test_pickles_naming_other_globals_are_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(FormatError, match="names (posix|os).system, which savepoint does not "
                                          "load"):
        safe_pickle.loads(pickle.dumps({"data": Evil()}))


def test_argument_errors():
    with pytest.raises(ConfigError, match='`label_mode` must be one of `"fine"`, `"coarse"`. '
                                          'Received: label_mode=medium'):
        datasets.cifar100.load_data("medium")
    with pytest.raises(ConfigError, match="Unrecognized keyword arguments"):
        datasets.imdb.load_data(colour=1)
    with pytest.raises(ConfigError, match=r"Expected test_split in \[0, 1\)"):
        datasets.boston_housing.load_data(test_split=1.5)
    assert datasets.reuters.get_label_names()[:2] == ("cocoa", "grain")


def test_word_indexes_download_verified(served, monkeypatch):
    md5 = hashlib.md5(open(os.path.join(FIX, "imdb_word_index.json"), "rb").read()).hexdigest()
    monkeypatch.setattr(datasets.imdb, "WORD_INDEX_MD5", md5)
    monkeypatch.setattr(datasets.reuters, "WORD_INDEX_MD5", md5)
    assert datasets.imdb.get_word_index() == {"the": 1, "and": 2, "movie": 3}
    assert datasets.reuters.get_word_index()["movie"] == 3
    monkeypatch.setattr(datasets.imdb, "WORD_INDEX_MD5", "0" * 32)
    monkeypatch.setattr(datasets.imdb, "BASE", served[0] + "missing/")
    with pytest.raises(StorageError, match="Cannot download .*imdb_word_index.json"):
        datasets.imdb.get_word_index()  # a cached copy with the wrong md5 is fetched again
