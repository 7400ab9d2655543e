"""Regenerate tests/fixtures/goldens/datasets/: small fake copies of Keras's dataset files (same
layouts: npz with pickled object arrays, CIFAR python batches in a tar.gz, gzipped IDX) and
what REAL tf-keras ``load_data`` returns for them.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_dataset_goldens.py``. tf-keras's ``get_file`` is pointed at the fake files (their
hashes are not Keras's); savepoint's tests serve the same files over a local HTTP server.
``expected.npz`` holds ``<case>__x_train`` ... (object arrays stored as a flat ``values``
array plus ``lengths``).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import tarfile
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
from tf_keras.src.datasets import (boston_housing, cifar10, cifar100, fashion_mnist,  # noqa
                                   imdb, reuters)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "datasets")


def seqs(rng, n, vocab=60):
    out = np.empty(n, dtype=object)
    out[:] = [list(map(int, rng.integers(1, vocab, rng.integers(2, 12)))) for _ in range(n)]
    return out


def idx_gz(array: np.ndarray, magic_type: int) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                    for d in array.shape)
    del magic_type
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def cifar_tar(dirname: str, batches: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in batches.items():
            data = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"{dirname}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cifar10_small(tmp: str):
    """tf-keras's cifar10.load_data assumes 10,000 images per batch file; for the small fake
    batches, its own load_batch reads each file and the assembly follows its code."""
    from tf_keras.src.datasets.cifar import load_batch
    path = os.path.join(tmp, "cifar-10-batches-py")
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts]).astype("uint8")
    y_train = np.concatenate([np.asarray(p[1], "uint8") for p in parts])
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test.astype(x_train.dtype), y_test.astype(y_train.dtype))


def main() -> None:
    rng = np.random.default_rng(41)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    files = {}
    files["imdb.npz"] = dict(x_train=seqs(rng, 12), y_train=rng.integers(0, 2, 12),
                             x_test=seqs(rng, 10), y_test=rng.integers(0, 2, 10))
    files["reuters.npz"] = dict(x=seqs(rng, 20), y=rng.integers(0, 46, 20))
    files["boston_housing.npz"] = dict(x=rng.uniform(0, 100, (25, 13)),
                                       y=rng.uniform(5, 50, 25))
    for name, arrays in files.items():
        np.savez(os.path.join(OUT, name), **arrays)
    fashion = {"train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
               "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
               "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4),
               "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28))}
    os.makedirs(os.path.join(OUT, "fashion"))
    for name, array in fashion.items():
        with open(os.path.join(OUT, "fashion", name), "wb") as f:
            f.write(idx_gz(array, 0))
    c10 = {f"data_batch_{i}": {b"batch_label": b"x", b"labels": [int(v) for v in
                                                                   rng.integers(0, 10, 2)],
                               b"data": rng.integers(0, 256, (2, 3072)).astype(np.uint8),
                               b"filenames": [b"a", b"b"]} for i in range(1, 6)}
    c10["test_batch"] = {b"batch_label": b"t", b"labels": [3, 1, 4],
                         b"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8)}
    c100 = {name: {b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                   b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
                   b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8)}
            for name, n in (("train", 4), ("test", 2))}
    with open(os.path.join(OUT, "cifar-10-python.tar.gz"), "wb") as f:
        f.write(cifar_tar("cifar-10-batches-py", c10))
    with open(os.path.join(OUT, "cifar-100-python.tar.gz"), "wb") as f:
        f.write(cifar_tar("cifar-100-python", c100))

    tmp = tempfile.mkdtemp()
    for archive, dirname in (("cifar-10-python.tar.gz", "cifar-10-batches-py"),
                             ("cifar-100-python.tar.gz", "cifar-100-python")):
        with tarfile.open(os.path.join(OUT, archive)) as tar:
            tar.extractall(tmp, filter="data")

    def local(fname=None, origin=None, **kwargs):
        base = os.path.basename(origin)
        if base.endswith(".tar.gz"):
            return os.path.join(tmp, fname)
        if base in fashion:
            return os.path.join(OUT, "fashion", base)
        return os.path.join(OUT, base)

    for module in (boston_housing, cifar10, cifar100, fashion_mnist, imdb, reuters):
        module.get_file = local
    results = {
        "imdb": imdb.load_data(),
        "imdb_args": imdb.load_data(num_words=30, skip_top=2, maxlen=9, seed=5, start_char=1,
                                    oov_char=2, index_from=2),
        "imdb_nooov": imdb.load_data(num_words=25, oov_char=None, start_char=None),
        "reuters": reuters.load_data(),
        "reuters_args": reuters.load_data(num_words=40, maxlen=10, test_split=0.3, seed=7),
        "boston": boston_housing.load_data(),
        "boston_split": boston_housing.load_data(test_split=0.4, seed=3),
        "fashion": fashion_mnist.load_data(),
        "cifar10": cifar10_small(tmp),
        "cifar100": cifar100.load_data(),
        "cifar100_coarse": cifar100.load_data("coarse"),
    }
    expected = {}
    for case, ((x_train, y_train), (x_test, y_test)) in results.items():
        for key, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test),
                           ("y_test", y_test)):
            value = np.asarray(value) if not isinstance(value, np.ndarray) else value
            if value.dtype == object:
                expected[f"{case}__{key}__lengths"] = np.array([len(v) for v in value])
                expected[f"{case}__{key}__values"] = np.array(
                    [w for v in value for w in v], np.int64)
            else:
                expected[f"{case}__{key}"] = value
    np.savez_compressed(os.path.join(OUT, "expected.npz"), **expected)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {len(expected)} arrays; {total} bytes")


if __name__ == "__main__":
    main()
